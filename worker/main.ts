/** The worker process: read config, connect, migrate, run until SIGINT/SIGTERM. */
import { createActivities } from '../activities/index.js';
import { DEVELOPMENT_UNSUBSCRIBE_SECRET, loadConfigOrExit, type WorkerRole } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createMetricsRegistry } from '../config/metrics.js';
import { connectClient, connectWorker, registerSearchAttributes } from '../config/temporal.js';
import { createOrm, migrate } from '../db/orm.js';
import { createEmailSender } from '../email/create-sender.js';
import { freeLoopbackPort, startMetricsServer } from './metrics-server.js';
import { createDeliveryMetrics } from './metrics.js';
import { keepWorkerHeapsNearLive } from './heap.js';
import { installTemporalRuntime, temporalLoggerFor } from './runtime.js';
import type { Worker } from '@temporalio/worker';
import { buildFanOutWorker, buildSendWorker, buildWorker, bundleWorkflows, runWorkers } from './worker.js';

keepWorkerHeapsNearLive();
const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, 'nudge-worker');
const sdkMetricsPort = config.metrics.temporalSdkPort ?? (await freeLoopbackPort());
installTemporalRuntime({ logger, sdkMetricsPort });

const orm = await createOrm(config.databaseUrl, {
  logger: (message) => logger.info({ component: 'orm' }, message),
  // Each running send holds a connection for its whole transaction and briefly needs a second
  // one to journal its ledger row (D1); the headroom keeps bookkeeping activities moving.
  pool: { min: 0, max: config.sends.concurrency + 10 },
});
await migrate(orm);
const waitForTemporal = {
  waitMs: 120_000,
  onRetry: (error: unknown) =>
    logger.warn({ err: error, temporal: config.temporal.address }, 'waiting for the Temporal server'),
};
const temporal = await connectClient(config.temporal, waitForTemporal);
await registerSearchAttributes(temporal.connection, config.temporal.namespace);
const connection = await connectWorker(config.temporal, waitForTemporal);
if (config.email.resendApiKey && config.delivery.unsubscribeSecret === DEVELOPMENT_UNSUBSCRIBE_SECRET) {
  logger.warn('UNSUBSCRIBE_SECRET is not set: real emails carry unsubscribe links anyone could forge');
}

const registry = createMetricsRegistry();
const email = createEmailSender(config.email, logger);
const activities = createActivities({
  orm,
  email,
  config: {
    from: config.email.from,
    publicUrl: config.delivery.publicUrl,
    unsubscribeSecret: config.delivery.unsubscribeSecret,
    sendRatePerSecond: config.sends.ratePerSecond,
  },
  clock: () => new Date(),
  logger,
  temporal: temporal.client,
  fanOutConcurrency: config.worker.fanOutConcurrency,
});
// One set of counters for both workers: sends run on the send worker, the rest on the other.
const observability = {
  metrics: createDeliveryMetrics(registry, email.provider),
  logger,
  provider: email.provider,
};
// Bundled once for both workflow workers (or prebuilt by `npm run build`); a sends-only
// process runs no workflow and skips it.
const runsWorkflows = config.worker.roles.some((role) => role !== 'sends');
const workflowBundle = !runsWorkflows
  ? undefined
  : config.workflowBundlePath
    ? { codePath: config.workflowBundlePath }
    : await bundleWorkflows(temporalLoggerFor(logger.child({ component: 'bundler' })));
const workflowWorker = {
  connection,
  namespace: config.temporal.namespace,
  taskQueue: config.temporal.taskQueue,
  activities,
  observability,
  workflowBundle,
};
// Only the roles this process was given (WORKER_ROLES); all three by default.
const builders: Record<WorkerRole, () => Promise<Worker>> = {
  enrollments: () =>
    buildWorker({ ...workflowWorker, options: { maxCachedWorkflows: config.worker.maxCachedWorkflows } }),
  fanout: () => buildFanOutWorker(workflowWorker),
  sends: () =>
    buildSendWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities,
      ratePerSecond: config.sends.ratePerSecond,
      concurrency: config.sends.concurrency,
      observability,
    }),
};
const workers: Worker[] = [];
for (const role of config.worker.roles) workers.push(await builders[role]());

const metricsServer = await startMetricsServer({
  host: config.metrics.host,
  port: config.metrics.port,
  registry,
  temporalSdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
  token: config.metrics.token,
  healthy: () => workers.every((worker) => worker.getState() === 'RUNNING'),
  logger,
});

// Runs until SIGINT/SIGTERM; the workers drain their in-flight tasks before it resolves.
logger.info(
  {
    taskQueue: config.temporal.taskQueue,
    roles: config.worker.roles,
    temporal: config.temporal.address,
    sendRatePerSecond: config.sends.ratePerSecond ?? 'unlimited',
    metrics: metricsServer.url ? `${metricsServer.url}/metrics` : null,
  },
  'worker running',
);
await runWorkers(workers);
await Promise.allSettled([
  metricsServer.close(),
  connection.close(),
  temporal.connection.close(),
  orm.close(),
]);
logger.info('worker stopped');
