/**
 * Prometheus metrics shared by the API and the worker: one registry per process with the
 * Node.js process metrics, and the one rule for who may read them.
 */
import { timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * /metrics is open unless METRICS_TOKEN is set: it carries counts, latencies and route
 * templates, never contact data or ids, and Prometheus usually scrapes from inside the
 * deployment's network. With a token, only `Authorization: Bearer <token>` may read it.
 */
export function metricsAccessAllowed(token: string | null, authorization: string | undefined): boolean {
  if (!token) return true;
  const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
