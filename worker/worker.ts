/** buildWorkers: constructs (does not run) Nudge's Temporal workers: workflows, and sends. */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  Worker,
  type BundleOptions,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { createActivities } from '../activities/index.js';
import { fanOutTaskQueue, sendTaskQueue } from '../workflows/ids.js';
import { activityInterceptors, type ActivityObservability } from './interceptors.js';

const workflowModule = (name: string) =>
  fileURLToPath(new URL(`../workflows/${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** The workflows' entry file, next to this module whether running from sources or a build. */
export const workflowsPath = workflowModule('index');

/**
 * Modules the worker loads once and shares between all the workflows it runs (the SDK's reusable
 * V8 context), instead of evaluating them again for every workflow it creates or replays. Only
 * pure modules belong here: the send-window arithmetic (and, through it, luxon), whose caches
 * (time zone validity, luxon's zones and Intl formatters) are the same for every workflow and
 * were otherwise rebuilt on every replay.
 */
const workflowBundlerOptions = { preloadModules: [workflowModule('send-window')] };

/** Bundles Nudge's workflows (worker start-up, the build, tests) with the options above. */
export function bundleWorkflows(logger?: BundleOptions['logger']): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, ...workflowBundlerOptions, ...(logger ? { logger } : {}) });
}

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ReturnType<typeof createActivities>;
  /** A pre-built bundle (tests build one per file; production may ship one). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Metrics and log context for every activity (the worker process passes them; tests may not). */
  observability?: ActivityObservability;
  options?: Partial<WorkerOptions>;
}

/** The enrollment workflows and their bookkeeping activities, on the main task queue. */
export async function buildWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    activities: deps.activities,
    ...workflowCode(deps),
    ...interceptorsFor(deps.observability),
    ...deps.options,
  });
}

/**
 * Sequence fan-outs (pause, resume, edit, delete) on their own task queue: the workflow and
 * its activity, so a pause goes out at once even behind a backlog of enrollment tasks.
 */
export async function buildFanOutWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: fanOutTaskQueue(deps.taskQueue),
    activities: { fanOutToEnrollments: deps.activities.fanOutToEnrollments },
    ...workflowCode(deps),
    ...interceptorsFor(deps.observability),
  });
}

export interface SendWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  /** The workflows' task queue; sends poll the queue next to it. */
  taskQueue: string;
  activities: ReturnType<typeof createActivities>;
  /** D5: the provider's rate limit, enforced by the Temporal server across all send workers. */
  ratePerSecond: number | null;
  /** Sends run at once in this process; each holds a database connection while it runs. */
  concurrency: number;
  /** Metrics and log context for every send (the worker process passes them; tests may not). */
  observability?: ActivityObservability;
}

/** The send queue's server-side rate, as a multiple of the provider's (see below). */
const SEND_QUEUE_HEADROOM = 1.1;

/**
 * The send activity alone, on its own task queue. The rate limit is a task-queue option the
 * server applies to every poller, so any number of workers together take sends at about the
 * provider's rate; and since the workflows live on another queue, no send is dispatched
 * eagerly around the limit. The queue's rate is a little above the provider's: the exact
 * bound is the pacer's (activities/send-pacer.ts), and a send should be waiting whenever the
 * pacer lets the next one go, or its capacity is lost (the server's rate lags behind it).
 */
export async function buildSendWorker(deps: SendWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: sendTaskQueue(deps.taskQueue),
    activities: { sendStep: deps.activities.sendStep },
    maxConcurrentActivityTaskExecutions: deps.concurrency,
    ...(deps.ratePerSecond !== null
      ? { maxTaskQueueActivitiesPerSecond: deps.ratePerSecond * SEND_QUEUE_HEADROOM }
      : {}),
    ...interceptorsFor(deps.observability),
  });
}

/** The given pre-built bundle, or Nudge's workflows for the worker to bundle itself. */
function workflowCode(deps: WorkerDeps): Partial<WorkerOptions> {
  return deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath, bundlerOptions: workflowBundlerOptions };
}

function interceptorsFor(observability: ActivityObservability | undefined): Partial<WorkerOptions> {
  return observability ? { interceptors: { activity: [activityInterceptors(observability)] } } : {};
}

/** Runs workers together; shutting one down (or one failing) shuts down the others. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const runs = workers.map((worker) =>
    worker.run().finally(() => {
      for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
    }),
  );
  const results = await Promise.allSettled(runs);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}
