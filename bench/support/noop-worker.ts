/**
 * The due-burst baseline's worker process: Nudge's two workers built by the same functions
 * and from the same configuration as worker/main.ts builds them (so the same send
 * concurrency, rate limit and workflow cache), with a no-op in place of the send and
 * dueBurstNoop in place of the enrollment workflow. Prints NOOP_WORKER_READY when polling.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { createActivities } from '../../activities/index.js';
import { loadConfigOrExit } from '../../config/config.js';
import { connectWorker } from '../../config/temporal.js';
import { keepWorkerHeapsNearLive } from '../../worker/heap.js';
import { buildSendWorker, buildWorker, runWorkers } from '../../worker/worker.js';
import type { NoopActivities } from './noop-workflow.js';

export const NOOP_WORKER_ENTRY = 'bench/support/noop-worker.ts';
export const NOOP_WORKER_READY = 'noop worker ready';

async function main() {
  // As worker/main.ts runs: the baseline's process measures the engine, not V8's defaults.
  keepWorkerHeapsNearLive();
  const config = loadConfigOrExit();
  const connection = await connectWorker(config.temporal);
  const noop: NoopActivities = { sendStep: async () => Date.now() };
  const activities = noop as unknown as ReturnType<typeof createActivities>;
  const common = { connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue };
  const workers = [
    await buildWorker({
      ...common,
      activities,
      options: {
        maxCachedWorkflows: config.worker.maxCachedWorkflows,
        workflowsPath: fileURLToPath(new URL('./noop-workflow.ts', import.meta.url)),
      },
    }),
    await buildSendWorker({
      ...common,
      activities,
      ratePerSecond: config.sends.ratePerSecond,
      concurrency: config.sends.concurrency,
    }),
  ];
  console.log(NOOP_WORKER_READY);
  await runWorkers(workers);
  await connection.close();
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main();
