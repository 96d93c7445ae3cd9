/**
 * The API process: read config, connect, migrate, listen. On SIGINT/SIGTERM it stops
 * accepting connections, reports not-ready, lets in-flight requests finish (up to
 * SHUTDOWN_TIMEOUT_MS), then closes its connections.
 */
import { loadConfigOrExit } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createMetricsRegistry } from '../config/metrics.js';
import { connectClient, registerSearchAttributes } from '../config/temporal.js';
import { createOrm, migrate } from '../db/orm.js';
import { buildApp } from './app.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, 'nudge-api');
const orm = await createOrm(config.databaseUrl, {
  logger: (message) => logger.info({ component: 'orm' }, message),
});
await migrate(orm);
const { client, connection } = await connectClient(config.temporal, {
  waitMs: 120_000,
  onRetry: (error) =>
    logger.warn({ err: error, temporal: config.temporal.address }, 'waiting for the Temporal server'),
});
// The API starts workflows with Nudge's search attributes, so it makes sure they exist too.
await registerSearchAttributes(connection, config.temporal.namespace);
const outboxMode = !config.email.resendApiKey;
const app = await buildApp({
  orm,
  temporal: { client, taskQueue: config.temporal.taskQueue },
  logger,
  limits: config.api,
  bulkTuning: config.bulk,
  metrics: { registry: createMetricsRegistry(), token: config.metrics.token },
  outboxPage: outboxMode
    ? {
        temporalUi: config.temporalUiUrl
          ? { url: config.temporalUiUrl, namespace: config.temporal.namespace }
          : null,
      }
    : null,
  delivery: { ...config.delivery, from: config.email.from },
});

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timeout = setTimeout(() => {
      logger.error({ timeoutMs: config.api.shutdownTimeoutMs }, 'in-flight requests did not finish in time');
      process.exit(1);
    }, config.api.shutdownTimeoutMs);
    timeout.unref();
    await app.close(); // stops accepting, waits for in-flight requests
    await Promise.allSettled([connection.close(), orm.close()]);
    logger.info('API stopped');
    process.exit(0);
  });
}

await app.listen({ host: config.http.host, port: config.http.port });
logger.info(
  {
    url: `http://${config.http.host}:${config.http.port}`,
    docs: '/docs',
    metrics: '/metrics',
    ...(outboxMode ? { outbox: '/outbox' } : {}),
  },
  'API listening',
);
