/** The worker process: read config, connect, migrate, run until SIGINT/SIGTERM. */
import { createActivities } from '../activities/index.js';
import { loadConfigOrExit } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { connectClient, connectWorker, registerSearchAttributes } from '../config/temporal.js';
import { createOrm, migrate } from '../db/orm.js';
import { createEmailSender } from '../email/create-sender.js';
import { buildWorker } from './worker.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, 'nudge-worker');

const orm = await createOrm(config.databaseUrl, {
  logger: (message) => logger.info({ component: 'orm' }, message),
});
await migrate(orm);
const temporal = await connectClient(config.temporal);
await registerSearchAttributes(temporal.connection, config.temporal.namespace);
const connection = await connectWorker(config.temporal);

const worker = await buildWorker({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: config.temporal.taskQueue,
  activities: createActivities({
    orm,
    email: createEmailSender(config.email, logger),
    config: { from: config.email.from, publicUrl: config.http.publicUrl },
    clock: () => new Date(),
    logger,
  }),
  options: { maxCachedWorkflows: config.worker.maxCachedWorkflows },
});

// Worker.run() resolves once shutdown (triggered by SIGINT/SIGTERM) has drained in-flight tasks.
logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'worker running');
await worker.run();
await Promise.allSettled([connection.close(), temporal.connection.close(), orm.close()]);
logger.info('worker stopped');
