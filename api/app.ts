/**
 * buildApp: constructs (does not start) Nudge's HTTP API. main.ts starts it; tests inject
 * into the very same app.
 *
 * Cross-cutting machinery is registered before any route, so it applies to every route
 * added here or later, in this file or another module: authentication (routes opt out with
 * `config: { public: true }`), rate limiting per API key, the problem responses and the
 * Idempotency-Key header in the OpenAPI document, and idempotent POSTs.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { MikroORM } from '@mikro-orm/postgresql';
import { DEVELOPMENT_UNSUBSCRIBE_SECRET, type ApiLimits, type DeliveryConfig } from '../config/config.js';
import type { AuthenticatedKey } from './keys.js';
import type { ServiceContext, TemporalAccess } from './context.js';
import { registerProblemHandler } from './errors.js';
import { registerAuth } from './http/auth.js';
import { clientErrorHandler } from './http/client-errors.js';
import { refuseNulCharacters } from './http/nul-characters.js';
import { healthRoutes } from './http/health.js';
import { registerIdempotency } from './http/idempotency.js';
import { registerRateLimit } from './http/rate-limit.js';
import { markOptionalBodies, registerRouteConventions, type RouteEntry } from './http/route-conventions.js';
import { registerApiMetrics, type ApiMetricsOptions } from './metrics.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { bulkEnrollmentRoutes } from './routes/bulk-enrollments.js';
import type { BulkTuning } from './services/bulk-enrollments.js';
import { contactRoutes } from './routes/contacts.js';
import { contactTagRoutes } from './routes/contact-tags.js';
import { deliveryRoutes } from './routes/delivery.js';
import { enrollmentRoutes } from './routes/enrollments.js';
import { outboxRoutes, type OutboxPageOptions } from './routes/outbox.js';
import { sequenceContactRoutes } from './routes/sequence-contacts.js';
import { sequenceRoutes } from './routes/sequences.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { webhookRoutes } from './routes/webhooks.js';
import { Problem } from './schemas/common.js';
import { validatorCompiler } from './validation.js';

export interface AppDeps {
  orm: MikroORM;
  temporal: TemporalAccess;
  logger: FastifyBaseLogger;
  /** Rate, body size and idempotency settings; tests and tools may lower or raise them. */
  limits?: Partial<ApiLimits>;
  /** Chunking and concurrency of bulk enrollment (bench/bulk-enroll.ts explores them). */
  bulkTuning?: BulkTuning;
  /** Prometheus /metrics (request rate and latency); main.ts always passes it. */
  metrics?: ApiMetricsOptions;
  /** The development outbox page, mounted only when emails go to the outbox (no Resend key). */
  outboxPage?: Omit<OutboxPageOptions, 'orm'> | null;
  /** Unsubscribe links, webhooks and previews (D6, D7); development defaults when absent. */
  delivery?: Partial<DeliverySettings>;
}

export interface DeliverySettings extends DeliveryConfig {
  /** The sender previews show (`EMAIL_FROM`). */
  from: string;
}

const DEFAULT_DELIVERY: DeliverySettings = {
  from: 'Nudge <nudge@localhost>',
  publicUrl: 'http://127.0.0.1:3000',
  unsubscribeSecret: DEVELOPMENT_UNSUBSCRIBE_SECRET,
  webhookSecret: null,
};

export const DEFAULT_LIMITS: ApiLimits = {
  rateLimit: { max: 1200, windowMs: 60_000 },
  bodyLimitBytes: 1024 * 1024,
  bulkBodyLimitBytes: 16 * 1024 * 1024,
  idempotencyTtlMs: 24 * 3_600_000,
  idempotencyWaitMs: 60_000,
};

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's unit of work, workspace and Temporal access (set by the auth hook). */
    services: ServiceContext;
    /** The API key that authenticated this request; null on public routes. */
    apiKey: AuthenticatedKey | null;
  }
  interface FastifyContextConfig {
    /** Routes that answer without an API key (health, docs, webhooks). */
    public?: boolean;
  }
  interface FastifyInstance {
    /** The limits this app was built with (routes read their own body limits from it). */
    limits: ApiLimits;
    /** True once close() has begun: readiness turns false while in-flight requests finish. */
    isClosing(): boolean;
    /** Every route served, public or not, documented or hidden (for the contract tests). */
    routeCatalog: RouteEntry[];
  }
}

const DOCS_PREFIX = '/docs';

export async function buildApp(deps: AppDeps) {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: limits.bodyLimitBytes,
    clientErrorHandler,
    // Idle keep-alive sockets close at once on shutdown; busy ones finish their request.
    forceCloseConnections: 'idle',
    // A tag in a path (`DELETE /contacts/{id}/tags/{tag}`, 100 characters) is up to 1,200 URL-encoded.
    routerOptions: { maxParamLength: 2048 },
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every response names its request, so a caller's report can be matched to our logs.
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  if (deps.metrics) registerApiMetrics(app, deps.metrics);

  let closing = false;
  app.decorate('limits', limits);
  app.decorate('isClosing', () => closing);
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Requests in flight at shutdown finish, and their connection closes after the answer
  // instead of idling in keep-alive and holding the shutdown up.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  // A JSON API: any other body is a 415, not a string that fails validation further on.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  const conventions = registerRouteConventions(app, { docsPrefix: DOCS_PREFIX });
  registerProblemHandler(app, conventions.allowedMethods);
  app.addSchema(Problem);
  app.decorate('routeCatalog', conventions.catalog);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Nudge API',
        version: '0.1.0',
        description: [
          'Email sequences on Temporal.',
          '',
          '- **Authentication**: `Authorization: Bearer <API key>` on every route except health,',
          '  docs and webhooks. Keys belong to one workspace; ids of other workspaces answer 404.',
          '- **Errors** are `application/problem+json` (RFC 9457) with a stable `type`',
          '  (`urn:nudge:problem:<kind>`) and, for input errors, `field`: a JSON pointer such as',
          '  `/body/email`.',
          '- **Retries**: send an `Idempotency-Key` header with any POST; the same key and request',
          '  returns the first response without acting again.',
          '- **Lists** page newest first with `limit` and `cursor` (`nextCursor` of the previous page).',
          '- **Rate limits** are per API key; a 429 carries `retry-after`.',
        ].join('\n'),
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    // Shared schemas appear under their own names (`Problem`), not `def-0`.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (documentObject) =>
      markOptionalBodies((documentObject as { openapiObject: object }).openapiObject),
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  app.get('/openapi.json', { config: { public: true, rateLimit: false }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  registerAuth(app, deps);
  refuseNulCharacters(app);
  await registerRateLimit(app, limits.rateLimit);
  registerIdempotency(app, deps.orm, { ttlMs: limits.idempotencyTtlMs, waitMs: limits.idempotencyWaitMs });

  await app.register(healthRoutes({ ...deps, isClosing: () => closing }));
  await app.register(apiKeyRoutes);
  await app.register(contactRoutes);
  await app.register(contactTagRoutes);
  await app.register(sequenceRoutes);
  await app.register(sequenceContactRoutes);
  await app.register(enrollmentRoutes);
  await app.register(bulkEnrollmentRoutes(deps.bulkTuning));
  if (deps.outboxPage) await app.register(outboxRoutes, { orm: deps.orm, ...deps.outboxPage });
  const delivery: DeliverySettings = { ...DEFAULT_DELIVERY, ...deps.delivery };
  await app.register(deliveryRoutes(delivery));
  await app.register(webhookRoutes({ ...deps, webhookSecret: delivery.webhookSecret }));
  await app.register(unsubscribeRoutes({ ...deps, unsubscribeSecret: delivery.unsubscribeSecret }));
  return app;
}

/** A caller's `x-request-id` is kept when it is a sane token; otherwise one is made. */
function requestIdOf(request: { headers: FastifyRequest['headers'] }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}
