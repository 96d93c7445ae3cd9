/**
 * The worker's one scrape target: GET /metrics answers Nudge's own metrics (domain counters,
 * process) followed by the Temporal SDK's worker metrics, which the SDK exports on a loopback
 * port of its own (runtime.ts). GET /healthz says whether the worker is running.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { metricsAccessAllowed } from '../config/metrics.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** The SDK's Prometheus endpoint, e.g. http://127.0.0.1:9465/metrics. */
  temporalSdkMetricsUrl: string | null;
  token: string | null;
  /** Liveness: false once the worker has stopped polling. */
  healthy: () => boolean;
  logger: Logger;
}

export interface MetricsServer {
  /** Null when the port was taken: the worker runs on without metrics rather than not at all. */
  url: string | null;
  close(): Promise<void>;
}

/** A free port on loopback, for the SDK's own exporter (which must be told a port). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const healthy = options.healthy();
      response
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: healthy ? 'ok' : 'stopped' }));
      return;
    }
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!metricsAccessAllowed(options.token, request.headers.authorization)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end();
      return;
    }
    collect(options).then(
      (body) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
      (error: unknown) => {
        options.logger.error({ err: error }, 'collecting metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    // Sends matter more than metrics: a second worker on the same host still runs.
    options.logger.warn(
      { err: error, port: options.port },
      'METRICS_PORT is taken: this worker runs without /metrics (give each worker on a host its own port)',
    );
    return { url: null, close: async () => {} };
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function collect(options: MetricsServerOptions): Promise<string> {
  const own = await options.registry.metrics();
  if (!options.temporalSdkMetricsUrl) return own;
  try {
    const sdk = await fetch(options.temporalSdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!sdk.ok) throw new Error(`HTTP ${sdk.status}`);
    return `${own.trimEnd()}\n${await sdk.text()}`;
  } catch (error) {
    // Nudge's own series still matter when the SDK's exporter does not answer.
    options.logger.warn({ err: error }, 'the Temporal SDK metrics endpoint did not answer');
    return own;
  }
}
