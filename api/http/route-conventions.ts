/**
 * Conventions every route gets without asking, including routes added later by other
 * modules: the problem responses it can give (as `application/problem+json` in the OpenAPI
 * document), `security: []` for public routes, and the `Idempotency-Key` header on
 * authenticated POSTs. Registered before any route, so nothing escapes it.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { PROBLEM_CONTENT_TYPE } from '../errors.js';

/** What each problem status means, as the OpenAPI document says it. */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or a field is invalid; `field` names it as a JSON pointer.',
  401: 'Missing, unknown or revoked API key.',
  403: 'Forbidden.',
  404: 'No such resource in this workspace (ids of other workspaces look the same).',
  409: "Conflicts with the resource's state, or a request with this Idempotency-Key is still running.",
  413: 'The request body is larger than this route accepts.',
  415: 'The body is not `application/json`.',
  422: 'The request is understood but refused (for example an Idempotency-Key reused with another body).',
  429: 'Too many requests for this API key; `retry-after` says when to come back.',
  503: 'PostgreSQL or Temporal cannot be reached right now; `retry-after` says when to retry.',
};

export const IDEMPOTENCY_HEADER = 'idempotency-key';

const IdempotencyKeyHeader = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7E]+$',
  description:
    'Makes the POST safe to retry: the same key with the same request returns the first response ' +
    'without acting again; the same key with another request is a 422. Keys are kept for 24 hours ' +
    '(IDEMPOTENCY_TTL_HOURS). Use a new random value, such as a UUID, for each new request.',
};

type Schema = Record<string, unknown>;

/** Route schema marker (copied into the operation by @fastify/swagger) for bodies that may be absent. */
const OPTIONAL_BODY_MARKER = 'x-nudge-optional-body';

/** For @fastify/swagger's `transformObject`: mark optional bodies as such in the document. */
export function markOptionalBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Schema>> }).paths ?? {};
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      if (!operation || typeof operation !== 'object' || !(OPTIONAL_BODY_MARKER in operation)) continue;
      delete operation[OPTIONAL_BODY_MARKER];
      if (operation.requestBody) (operation.requestBody as Schema).required = false;
    }
  }
  return document;
}

export function isPublicRoute(route: Pick<RouteOptions, 'config'>): boolean {
  return (route.config as { public?: boolean } | undefined)?.public === true;
}

/** The shared Problem schema by reference: one component in the OpenAPI document. */
const ProblemRef = { $ref: `Problem#` };

function asProblemResponse(status: number, schema: unknown): unknown {
  if (schema && typeof schema === 'object' && 'content' in schema) return schema;
  const isShared = !schema || (schema as { $id?: string }).$id === 'Problem';
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem details (RFC 9457).',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: isShared ? ProblemRef : schema } },
  };
}

function withIdempotencyHeader(headers: unknown): Schema {
  const existing = (headers ?? { type: 'object', properties: {} }) as Schema & { properties?: Schema };
  return {
    ...existing,
    type: 'object',
    properties: { ...(existing.properties ?? {}), [IDEMPOTENCY_HEADER]: IdempotencyKeyHeader },
  };
}

/** Every route the app serves, as registered: what the contract tests hold the OpenAPI document to. */
export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
  hidden: boolean;
}

export interface RouteConventions {
  catalog: RouteEntry[];
  /** The methods some route answers for this path (for 405 answers with an `Allow` header). */
  allowedMethods(path: string): string[];
}

export function registerRouteConventions(
  app: FastifyInstance,
  options: { docsPrefix: string },
): RouteConventions {
  const catalog: RouteEntry[] = [];
  const router = FindMyWay();
  const noop = () => {};
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (!router.hasRoute(method as HTTPMethod, route.url)) router.on(method as HTTPMethod, route.url, noop);
    }
    if (route.url.startsWith(options.docsPrefix)) {
      route.config = { ...(route.config ?? {}), public: true } as typeof route.config;
    }
    const schema = (route.schema ?? {}) as Schema;
    for (const method of [route.method].flat()) {
      catalog.push({ method, url: route.url, public: isPublicRoute(route), hidden: Boolean(schema.hide) });
    }
    if (schema.hide) return;
    const methods = [route.method].flat();
    const isPublic = isPublicRoute(route);
    const rateLimited = (route.config as { rateLimit?: unknown } | undefined)?.rateLimit !== false;
    const hasBody = methods.some((m) => ['POST', 'PUT', 'PATCH'].includes(m));
    const hasParams = /[:*]/.test(route.url);

    const statuses = [400, 503];
    if (!isPublic) statuses.push(401);
    if (rateLimited) statuses.push(429);
    if (hasParams && !isPublic) statuses.push(404);
    if (hasBody) statuses.push(413, 415);
    if (methods.includes('POST') && !isPublic) statuses.push(409, 422);

    const declared = (schema.response ?? {}) as Record<string, unknown>;
    const response: Record<string, unknown> = {};
    for (const [status, value] of Object.entries(declared)) {
      response[status] = Number(status) >= 400 ? asProblemResponse(Number(status), value) : value;
    }
    for (const status of statuses) response[status] ??= asProblemResponse(status, undefined);

    // A body with nothing required may be left out entirely (`POST /enrollments/:id/cancel`).
    const bodySchema = schema.body as { required?: string[] } | undefined;
    const optionalBody = Boolean(bodySchema) && !bodySchema?.required?.length;
    if (optionalBody) {
      // Only a missing body: an explicit JSON `null` is not an object and stays a 400.
      const defaultBody = async (request: { body: unknown }) => {
        if (request.body === undefined) request.body = {};
      };
      route.preValidation = [defaultBody, ...[route.preValidation ?? []].flat()];
    }

    route.schema = {
      ...schema,
      response,
      ...(optionalBody ? { [OPTIONAL_BODY_MARKER]: true } : {}),
      ...(isPublic ? { security: [] } : {}),
      ...(methods.includes('POST') && !isPublic ? { headers: withIdempotencyHeader(schema.headers) } : {}),
    };
  });
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  return {
    catalog,
    allowedMethods: (path) => methods.filter((method) => router.find(method, path.split('?')[0]!) !== null),
  };
}
