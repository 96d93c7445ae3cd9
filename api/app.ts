/**
 * buildApp: constructs (does not start) Nudge's HTTP API. main.ts starts it; tests inject
 * into the very same app.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { ServiceContext } from './context.js';
import { registerProblemHandler, unauthorized } from './errors.js';
import { workspaceForKey } from './keys.js';
import { contactRoutes } from './routes/contacts.js';
import { enrollmentRoutes } from './routes/enrollments.js';
import { sequenceRoutes } from './routes/sequences.js';
import { Problem } from './schemas/common.js';
import { validatorCompiler } from './validation.js';

export interface AppDeps {
  orm: MikroORM;
  temporal: { client: Client; taskQueue: string };
  logger: FastifyBaseLogger;
  /** Largest accepted request body; bulk enrollment needs more than the default 1 MiB. */
  bodyLimitBytes?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's unit of work, workspace and Temporal access (set by the auth hook). */
    services: ServiceContext;
  }
  interface FastifyContextConfig {
    /** Routes that answer without an API key (health, docs, webhooks). */
    public?: boolean;
  }
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimitBytes ?? 16 * 1024 * 1024,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerProblemHandler(app);
  app.addSchema(Problem);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Nudge API',
        version: '0.1.0',
        description: 'Email sequences on Temporal. Authenticate with `Authorization: Bearer <API key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('services', null as unknown as ServiceContext);
  app.addHook('onRequest', async (request) => {
    const em = deps.orm.em.fork();
    if (request.routeOptions.config?.public || request.url.startsWith('/docs')) return;
    const workspaceId = await workspaceForKey(em, request.headers.authorization);
    if (!workspaceId) throw unauthorized();
    request.services = { em, workspaceId, temporal: deps.temporal };
  });

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));

  await app.register(contactRoutes);
  await app.register(sequenceRoutes);
  await app.register(enrollmentRoutes);
  return app;
}
