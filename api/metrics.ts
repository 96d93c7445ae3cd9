/**
 * The API's Prometheus metrics: request rate and latency per route template (never the raw
 * URL, so ids do not explode cardinality), plus the process metrics, served at /metrics.
 */
import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { metricsAccessAllowed } from '../config/metrics.js';
import { unauthorized } from './errors.js';

export interface ApiMetricsOptions {
  registry: Registry;
  /** METRICS_TOKEN: when set, /metrics needs it as a bearer token. */
  token: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    metricsTimer?: (labels: Record<string, string | number>) => number;
  }
}

export function registerApiMetrics(app: FastifyInstance, options: ApiMetricsOptions): void {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API requests by method, route template and status code; its _count is the request rate',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.registry],
  });

  app.addHook('onRequest', async (request) => {
    request.metricsTimer = duration.startTimer();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === '/metrics') return;
    request.metricsTimer?.({
      method: request.method,
      route: route ?? 'unmatched',
      status_code: reply.statusCode,
    });
  });

  app.get(
    '/metrics',
    { config: { public: true, rateLimit: false }, schema: { hide: true }, logLevel: 'warn' },
    async (request, reply) => {
      if (!metricsAccessAllowed(options.token, request.headers.authorization)) throw unauthorized();
      return reply.type(options.registry.contentType).send(await options.registry.metrics());
    },
  );
}
