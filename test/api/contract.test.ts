/**
 * The contract, route by route. Every operation is enumerated from the app's own
 * /openapi.json (so routes added later are covered without touching this file) and held to:
 *   - 401 problem without a key, with an unknown key and with a revoked key, unless the route
 *     is public (`security: []` in the document, derived from the route's `public` config);
 *   - 404 problem for ids of another workspace, indistinguishable from ids that do not exist,
 *     and no change to the other workspace's data;
 *   - the documented problem responses, problem content type, Idempotency-Key on POSTs and
 *     examples for request bodies;
 * and every route the app serves is either in the document or public and hidden (docs).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp } from '../../api/app.js';
import { ApiKey, Contact, Delivery, Enrollment, Sequence } from '../../db/entities/index.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

interface Operation {
  method: string;
  path: string;
  op: any;
}

let env: TestWorkflowEnvironment;
let world: World;
let app: App;
let document: any;
let operations: Operation[];
let attacker: { apiKey: string; revokedKey: string };
/** Ids of workspace B's rows, by the path parameter names that address them. */
let victim: Record<string, string>;

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

beforeAll(async () => {
  env = await startTimeSkippingServer();
  world = await startWorld(env, new RecordingSender());
  app = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
  });
  document = (await app.inject({ url: '/openapi.json' })).json();
  operations = Object.entries(document.paths).flatMap(([path, item]: [string, any]) =>
    HTTP_METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
  );

  const a = await world.workspace();
  const revoked = await apiClient(app, a.apiKey).post('/api-keys', { name: 'to revoke' });
  await apiClient(app, a.apiKey).delete(`/api-keys/${revoked.json().id}`);
  attacker = { apiKey: a.apiKey, revokedKey: revoked.json().key };

  const b = await world.workspace();
  const contact = await world.contact({ tags: ['lead'] }, b.ctx);
  const sequence = await world.publishedSequence({}, b.ctx);
  const enrolled = await apiClient(app, b.apiKey).post(`/sequences/${sequence.id}/enrollments`, {
    contactId: contact.id,
  });
  const em = world.db.orm.em.fork();
  const delivery = em.create(Delivery, {
    workspace: b.ctx.workspaceId,
    enrollment: enrolled.json().id,
    sequence: sequence.id,
    contact: contact.id,
    generation: 1,
    stepId: 'contract-fixture',
    kind: 'first',
    status: 'sent',
    idempotencyKey: `contract-${randomUUID()}`,
    provider: 'recording',
    toEmail: contact.email,
  });
  await em.flush();
  const [bKey] = await em.find(ApiKey, { workspace: b.ctx.workspaceId });
  victim = {
    workspaceId: b.ctx.workspaceId,
    contactId: contact.id,
    sequenceId: sequence.id,
    enrollmentId: enrolled.json().id,
    deliveryId: delivery.id,
    apiKeyId: bKey!.id,
    stepId: 'welcome', // a step of B's sequence: with B's sequence id, it must still be a 404
    tag: 'lead', // a tag B's contact could carry: with B's contact id, it must still be a 404
  };
}, 120_000);

afterAll(async () => {
  await app?.close();
  await world?.close();
  await env?.teardown();
});

const isPublic = (op: any) => Array.isArray(op.security) && op.security.length === 0;
const pathParams = (op: any): any[] => (op.parameters ?? []).filter((p: any) => p.in === 'path');

/** A value of the right shape for a parameter that must be well-formed but need not exist. */
function placeholder(parameter: any): string {
  if (parameter.schema?.format === 'uuid') return randomUUID();
  return String(parameter.example ?? parameter.schema?.examples?.[0] ?? 'placeholder');
}

function fillPath(path: string, op: any, value: (parameter: any) => string): string {
  return pathParams(op).reduce(
    (url, parameter) => url.replace(`{${parameter.name}}`, encodeURIComponent(value(parameter))),
    path,
  );
}

/** The documented example body, so validation passes and the route reaches its lookups. */
function exampleBody(op: any): object | undefined {
  const media = op.requestBody?.content?.['application/json'];
  if (!media) return undefined;
  const examples = Object.values(media.examples ?? {}) as { value?: object }[];
  return media.example ?? examples[0]?.value ?? media.schema?.examples?.[0];
}

function inject(method: string, url: string, op: any, apiKey?: string) {
  const body = exampleBody(op);
  return app.inject({
    method: method.toUpperCase() as 'GET',
    url,
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    ...(body !== undefined ? { payload: body } : {}),
  });
}

test('the document lists operations, and every route the app serves is documented or public and hidden', () => {
  expect(operations.length).toBeGreaterThan(10);
  const documented = new Set(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`));
  const undocumented = app.routeCatalog
    .filter((r) => r.method !== 'HEAD' && !r.public)
    .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`)
    .filter((route) => !documented.has(route));
  expect(undocumented).toEqual([]);
  const publicRoutes = app.routeCatalog.filter((r) => r.public && !r.hidden && r.method !== 'HEAD');
  for (const route of publicRoutes) {
    const op = document.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
    expect({ route: `${route.method} ${route.url}`, public: op && isPublic(op) }).toEqual({
      route: `${route.method} ${route.url}`,
      public: true,
    });
  }
});

test('every authenticated operation is a 401 problem without a key, with an unknown key and with a revoked key', async () => {
  const checked: string[] = [];
  for (const { method, path, op } of operations.filter((o) => !isPublic(o.op))) {
    const url = fillPath(path, op, placeholder);
    for (const apiKey of [undefined, `nudge_${randomUUID()}`, attacker.revokedKey]) {
      const response = await inject(method, url, op, apiKey);
      expect({ operation: `${method} ${path}`, status: response.statusCode }).toEqual({
        operation: `${method} ${path}`,
        status: 401,
      });
      expectProblem(response, 401);
    }
    checked.push(`${method} ${path}`);
  }
  expect(checked.length).toBeGreaterThan(10);
});

test('every operation on ids answers 404 for another workspace’s ids, exactly as for ids that do not exist', async () => {
  const before = await snapshotVictim();
  const checked: string[] = [];
  for (const { method, path, op } of operations.filter((o) => !isPublic(o.op) && pathParams(o.op).length)) {
    for (const parameter of pathParams(op)) {
      if (!(parameter.name in victim)) {
        throw new Error(
          `${method.toUpperCase()} ${path}: no fixture for path parameter '${parameter.name}'. ` +
            'Add a row of workspace B addressed by it to `victim` in test/api/contract.test.ts.',
        );
      }
    }
    const foreign = await inject(
      method,
      fillPath(path, op, (p) => victim[p.name]!),
      op,
      attacker.apiKey,
    );
    const missing = await inject(method, fillPath(path, op, placeholder), op, attacker.apiKey);
    const label = `${method.toUpperCase()} ${path}`;
    expect({ label, status: foreign.statusCode }).toEqual({ label, status: 404 });
    const foreignProblem = expectProblem(foreign, 404);
    const missingProblem = expectProblem(missing, 404);
    const shape = (problem: any) => ({
      label,
      type: problem.type,
      title: problem.title,
      keys: Object.keys(problem).sort(),
    });
    expect(shape(foreignProblem)).toEqual(shape(missingProblem));
    checked.push(label);
  }
  expect(checked.length).toBeGreaterThan(5);
  expect(await snapshotVictim()).toEqual(before);
});

test('every operation documents its problem responses as application/problem+json', () => {
  for (const { method, path, op } of operations) {
    const label = `${method.toUpperCase()} ${path}`;
    const statuses = Object.keys(op.responses);
    const expected = ['400', '503', ...(isPublic(op) ? [] : ['401', '429'])];
    if (!isPublic(op) && pathParams(op).length) expected.push('404');
    expect({ label, missing: expected.filter((s) => !statuses.includes(s)) }).toEqual({ label, missing: [] });
    for (const status of statuses.filter((s) => Number(s) >= 400)) {
      expect({ label, status, types: Object.keys(op.responses[status].content ?? {}) }).toEqual({
        label,
        status,
        types: ['application/problem+json'],
      });
    }
  }
});

test('every authenticated POST takes an Idempotency-Key, and every request body has an example', () => {
  for (const { method, path, op } of operations) {
    const label = `${method.toUpperCase()} ${path}`;
    if (method === 'post' && !isPublic(op)) {
      const header = (op.parameters ?? []).find(
        (p: any) => p.in === 'header' && p.name === 'idempotency-key',
      );
      expect({ label, idempotencyKey: Boolean(header) }).toEqual({ label, idempotencyKey: true });
    }
    if (op.requestBody?.required) {
      expect({ label, example: exampleBody(op) !== undefined }).toEqual({ label, example: true });
    }
  }
});

/** Workspace B's rows, to prove the 404 sweep changed nothing there. */
async function snapshotVictim() {
  const em = world.db.orm.em.fork();
  const [contact, sequence, enrollment, delivery, key] = await Promise.all([
    em.findOneOrFail(Contact, victim.contactId!),
    em.findOneOrFail(Sequence, victim.sequenceId!),
    em.findOneOrFail(Enrollment, victim.enrollmentId!),
    em.findOneOrFail(Delivery, victim.deliveryId!),
    em.findOneOrFail(ApiKey, victim.apiKeyId!),
  ]);
  // What a request could change; not what B's own running workflow updates as it progresses.
  return {
    contact: { email: contact.email, tags: contact.tags, suppression: contact.suppression },
    sequence: { status: sequence.status, liveVersion: sequence.liveVersion, updatedAt: sequence.updatedAt },
    enrollment: { status: enrollment.status, pausedAt: enrollment.pausedAt, endedAt: enrollment.endedAt },
    delivery: { status: delivery.status, kind: delivery.kind },
    key: { revokedAt: key.revokedAt },
  };
}
