/** The worker process: read config, connect, migrate, run until SIGINT/SIGTERM. */
import { createActivities } from '../activities/index.js';
import { loadConfigOrExit } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { connectClient, connectWorker, registerSearchAttributes } from '../config/temporal.js';
import { createOrm, migrate } from '../db/orm.js';
import { createEmailSender } from '../email/create-sender.js';
import { buildSendWorker, buildWorker, runWorkers } from './worker.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, 'nudge-worker');

const orm = await createOrm(config.databaseUrl, {
  logger: (message) => logger.info({ component: 'orm' }, message),
  // Each running send holds a connection for its whole transaction and briefly needs a second
  // one to journal its ledger row (D1); the headroom keeps bookkeeping activities moving.
  pool: { min: 0, max: config.sends.concurrency + 10 },
});
await migrate(orm);
const temporal = await connectClient(config.temporal);
await registerSearchAttributes(temporal.connection, config.temporal.namespace);
const connection = await connectWorker(config.temporal);

const activities = createActivities({
  orm,
  email: createEmailSender(config.email, logger),
  config: { from: config.email.from, publicUrl: config.http.publicUrl },
  clock: () => new Date(),
  logger,
});
const workers = [
  await buildWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    options: { maxCachedWorkflows: config.worker.maxCachedWorkflows },
  }),
  await buildSendWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    ratePerSecond: config.sends.ratePerSecond,
    concurrency: config.sends.concurrency,
  }),
];

// Runs until SIGINT/SIGTERM; both workers drain their in-flight tasks before it resolves.
logger.info(
  {
    taskQueue: config.temporal.taskQueue,
    temporal: config.temporal.address,
    sendRatePerSecond: config.sends.ratePerSecond ?? 'unlimited',
  },
  'worker running',
);
await runWorkers(workers);
await Promise.allSettled([connection.close(), temporal.connection.close(), orm.close()]);
logger.info('worker stopped');
