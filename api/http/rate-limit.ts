/**
 * Per-API-key rate limiting (@fastify/rate-limit). Counted per key, not per IP, across every
 * route of one API process; public routes count per client IP; health probes are exempt.
 * Runs as a route-level onRequest hook, so after authentication and before the body is
 * read or anything acts.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../errors.js';

export async function registerRateLimit(
  app: FastifyInstance,
  options: { max: number; windowMs: number },
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: options.max,
    timeWindow: options.windowMs,
    cache: 100_000,
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.id}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ProblemError(
        429,
        'rate-limited',
        'Too many requests',
        `This API key may make ${context.max} requests per ${Math.round(options.windowMs / 1000)} s; retry in ${context.after}.`,
        { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
      ),
  });
}
