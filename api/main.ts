/** The API process: read config, connect, migrate, listen; close cleanly on SIGINT/SIGTERM. */
import { loadConfigOrExit } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { connectClient } from '../config/temporal.js';
import { createOrm, migrate } from '../db/orm.js';
import { buildApp } from './app.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, 'nudge-api');
const orm = await createOrm(config.databaseUrl, {
  logger: (message) => logger.info({ component: 'orm' }, message),
});
await migrate(orm);
const { client, connection } = await connectClient(config.temporal);
const app = await buildApp({ orm, temporal: { client, taskQueue: config.temporal.taskQueue }, logger });

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close(); // stops accepting, waits for in-flight requests
    await Promise.allSettled([connection.close(), orm.close()]);
    process.exit(0);
  });
}

await app.listen({ host: config.http.host, port: config.http.port });
logger.info({ url: `http://${config.http.host}:${config.http.port}`, docs: '/docs' }, 'API listening');
