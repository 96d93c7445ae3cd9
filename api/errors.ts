/**
 * Domain errors and their one mapping to `application/problem+json` (RFC 9457,
 * CONVENTIONS §8). Every kind has a stable `type`; 5xx responses never leak internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const problemType = (kind: string) => `urn:nudge:problem:${kind}`;

/**
 * Fastify's own request errors, by code, as stable problem kinds: clients match on `type`,
 * so these never change with a Fastify upgrade.
 */
const FASTIFY_PROBLEMS: Record<string, { kind: string; title: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'malformed-body', title: 'Body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    kind: 'malformed-body',
    title: 'Body is empty but content-type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'body-too-large', title: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'unsupported-media-type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    kind: 'malformed-request',
    title: 'Content-Length does not match the body',
  },
  FST_ERR_BAD_URL: { kind: 'malformed-request', title: 'Malformed URL' },
};

// gRPC status codes from Temporal that mean "try again shortly", not "you did something wrong".
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;

/** PostgreSQL or Temporal cannot be reached right now: a 503 the caller may retry. */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code;
  const causeCode = (error as { cause?: { code?: unknown } }).cause?.code;
  if ([code, causeCode].some((c) => c === GRPC_UNAVAILABLE || c === GRPC_DEADLINE_EXCEEDED)) return true;
  if ([code, causeCode].includes(GRPC_RESOURCE_EXHAUSTED)) return true;
  const name = (error as { name?: unknown }).name;
  if (name === 'ConnectionException') return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300'].some(
    (c) => code === c || causeCode === c,
  );
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }
}

export const notFound = (what: string, id: string) =>
  new ProblemError(404, 'not-found', `${what} not found`, `No ${what.toLowerCase()} with id ${id}.`, { id });

export const invalidField = (field: string, detail: string) =>
  new ProblemError(400, 'validation', 'Invalid request', detail, {
    field,
    errors: [{ field, message: detail }],
  });

export const conflict = (kind: string, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new ProblemError(409, kind, title, detail, extra);

/** S1: a draft takes no enrollments. */
export const sequenceIsDraft = (field = '/params/sequenceId') =>
  conflict(
    'sequence-not-published',
    'Sequence is a draft',
    'Publish the sequence before enrolling contacts (S1).',
    {
      field,
    },
  );

/** S3: a paused sequence takes no new enrollments (the attempt is recorded, not queued). */
export const sequenceIsPaused = (field = '/params/sequenceId') =>
  conflict('sequence-paused', 'Sequence is paused', 'A paused sequence accepts no new enrollments (S3).', {
    field,
  });

export const unauthorized = () =>
  new ProblemError(
    401,
    'unauthorized',
    'Unauthorized',
    'Send a valid API key as `Authorization: Bearer <key>`.',
  );

export interface ValidationIssue {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
  schemaPath?: string;
}

/**
 * A value that matches no branch of a union (`anyOf`) gets errors from every branch. The
 * branch it came closest to (fewest errors; the first on a tie) goes first, so `field` names
 * what to fix: `{ "all": false }` is about `all`, not a missing `contactIds`.
 */
export function closestBranchFirst<T extends ValidationIssue>(issues: T[]): T[] {
  const union = issues.find((issue) => issue.keyword === 'anyOf' && issue.schemaPath);
  if (!union) return issues;
  const prefix = `${union.schemaPath}/`;
  const branchOf = (issue: T) =>
    issue.schemaPath?.startsWith(prefix) ? Number(issue.schemaPath.slice(prefix.length).split('/')[0]) : null;
  const counts = new Map<number, number>();
  for (const issue of issues) {
    const branch = branchOf(issue);
    if (branch !== null) counts.set(branch, (counts.get(branch) ?? 0) + 1);
  }
  const closest = [...counts].sort(([a, x], [b, y]) => x - y || a - b)[0]?.[0];
  if (closest === undefined) return issues;
  // The union's own errors, closest branch first, where the first of them was.
  const inUnion = issues.filter((issue) => branchOf(issue) !== null);
  const reordered = [
    ...inUnion.filter((issue) => branchOf(issue) === closest),
    ...inUnion.filter((issue) => branchOf(issue) !== closest),
  ];
  const at = issues.indexOf(inUnion[0]!);
  const others = issues.filter((issue) => branchOf(issue) === null);
  return [...others.slice(0, at), ...reordered, ...others.slice(at)];
}

/** Fastify's names for the parts of a request, as fields name them (`/query/cursor`). */
const PART_NAMES: Record<string, string> = { querystring: 'query' };

/** `/body/steps/0/subject` style pointers naming the offending field (`context` may be a path). */
export function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const part = context ?? 'body';
  const base = `/${PART_NAMES[part] ?? part}${issue.instancePath}`;
  const missing = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  return typeof missing === 'string' ? `${base}/${missing}` : base;
}

export function registerProblemHandler(
  app: FastifyInstance,
  allowedMethods: (path: string) => string[] = () => [],
): void {
  app.setErrorHandler((error: FastifyError | ProblemError, request, reply) => {
    if (error instanceof ProblemError) {
      return reply
        .code(error.status)
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          ...error.extra, // first, so extension members can never replace the standard ones
          type: problemType(error.kind),
          title: error.title,
          status: error.status,
          ...(error.detail ? { detail: error.detail } : {}),
          instance: request.url,
        });
    }
    if (error.validation) {
      const errors = closestBranchFirst(error.validation as ValidationIssue[]).map((issue) => ({
        field: fieldOf(issue, error.validationContext),
        message: issue.message ?? 'is invalid',
      }));
      return reply
        .code(400)
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: problemType('validation'),
          title: 'Invalid request',
          status: 400,
          detail: errors.map((e) => `${e.field} ${e.message}`).join('; '),
          instance: request.url,
          field: errors[0]?.field,
          errors,
        });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own 4xx (malformed JSON, body too large, unsupported media type, ...).
      const known = error.code ? FASTIFY_PROBLEMS[error.code] : undefined;
      return reply
        .code(status)
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: problemType(known?.kind ?? 'bad-request'),
          title: known?.title ?? 'Bad request',
          status,
          detail: error.message,
          instance: request.url,
          ...(known?.kind === 'malformed-body' || known?.kind === 'body-too-large' ? { field: '/body' } : {}),
          ...(known?.kind === 'unsupported-media-type' ? { field: '/headers/content-type' } : {}),
        });
    }
    if (isUnavailable(error)) {
      request.log.warn({ err: error }, 'a dependency is unavailable');
      return reply
        .code(503)
        .header('retry-after', '5')
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: problemType('unavailable'),
          title: 'Service temporarily unavailable',
          status: 503,
          detail: 'PostgreSQL or Temporal could not be reached; retrying is safe.',
          instance: request.url,
        });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .code(500)
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType('internal'),
        title: 'Internal Server Error',
        status: 500,
        instance: request.url,
      });
  });

  const noRoute = (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(request.url);
    if (allowed.length > 0) {
      // The path exists, the method does not: 405 with the methods that do (RFC 9110 §15.5.6).
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: problemType('method-not-allowed'),
          title: 'Method not allowed',
          status: 405,
          detail: `${request.method} is not supported here; use ${allowed.join(', ')}.`,
          instance: request.url,
        });
    }
    return reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType('not-found'),
        title: 'Route not found',
        status: 404,
        instance: request.url,
      });
  };
  // Answer unmatched requests before anything else looks at them (a body, a content type).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.url) return noRoute(request, reply);
  });
  app.setNotFoundHandler(noRoute);
}
