/**
 * Domain errors and their one mapping to `application/problem+json` (RFC 9457,
 * CONVENTIONS §8). Every kind has a stable `type`; 5xx responses never leak internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const problemType = (kind: string) => `urn:nudge:problem:${kind}`;

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

export const unauthorized = () =>
  new ProblemError(
    401,
    'unauthorized',
    'Unauthorized',
    'Send a valid API key as `Authorization: Bearer <key>`.',
  );

interface ValidationIssue {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/body/steps/0/subject` style pointers naming the offending field. */
function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const base = `/${context ?? 'body'}${issue.instancePath}`;
  const missing = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  return typeof missing === 'string' ? `${base}/${missing}` : base;
}

export function registerProblemHandler(app: FastifyInstance): void {
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
      const errors = error.validation.map((issue) => ({
        field: fieldOf(issue as ValidationIssue, error.validationContext),
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
      return reply
        .code(status)
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: problemType(
            error.code
              ? error.code
                  .toLowerCase()
                  .replace(/^fst_err_/, '')
                  .replace(/_/g, '-')
              : 'bad-request',
          ),
          title: error.message,
          status,
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

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType('not-found'),
        title: 'Route not found',
        status: 404,
        instance: request.url,
      }),
  );
}
