/**
 * Bearer API keys. Every route needs one unless it is declared `config: { public: true }`;
 * the key decides the workspace, and every service call is scoped to it.
 */
import type { FastifyInstance } from 'fastify';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { TemporalAccess } from '../context.js';
import { unauthorized } from '../errors.js';
import { authenticateApiKey } from '../keys.js';

export function registerAuth(app: FastifyInstance, deps: { orm: MikroORM; temporal: TemporalAccess }): void {
  app.decorateRequest('services', null as never);
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request) => {
    // Unknown routes answer 404 whoever asks; public routes need no key.
    if (!request.routeOptions.url || request.routeOptions.config?.public) return;
    const em = deps.orm.em.fork();
    const key = await authenticateApiKey(em, request.headers.authorization);
    if (!key) throw unauthorized();
    request.apiKey = key;
    request.services = { em, workspaceId: key.workspaceId, temporal: deps.temporal };
  });
}
