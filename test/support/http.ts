/** Small helpers for talking to the API in tests (through `app.inject`). */
import type { LightMyRequestResponse } from 'fastify';
import type { buildApp } from '../../api/app.js';

export type App = Awaited<ReturnType<typeof buildApp>>;

export function expectProblem(
  response: LightMyRequestResponse | { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  field?: string,
) {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = response.json();
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^urn:nudge:problem:[a-z-]+$/);
  expect(typeof body.title).toBe('string');
  if (field) expect(body.field).toBe(field);
  return body;
}

/** A client bound to one API key. */
export function apiClient(app: App, apiKey: string) {
  const auth = { authorization: `Bearer ${apiKey}` };
  return {
    get: (url: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url, headers: { ...auth, ...headers } }),
    post: (url: string, payload?: object, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...auth, ...headers },
        ...(payload === undefined ? {} : { payload }),
      }),
    delete: (url: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'DELETE', url, headers: { ...auth, ...headers } }),
  };
}
