/**
 * Temporal servers for tests: the time-skipping test server and the CLI dev server, found
 * the way DESIGN §5 says (scripts/test exports the paths it found or built; without them
 * the SDK downloads its own, which needs internet).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { registerSearchAttributes } from '../../config/temporal.js';
import { bundleWorkflows } from '../../worker/worker.js';

function executable(variable: 'TEMPORAL_TEST_SERVER_PATH' | 'TEMPORAL_CLI_PATH') {
  const path = process.env[variable];
  return path ? ({ type: 'existing-path', path } as const) : ({ type: 'cached-download' } as const);
}

export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: executable('TEMPORAL_TEST_SERVER_PATH') },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/**
 * D5: one partition per task queue, so the send queue's rate limit is enforced in one place
 * (as scripts/dev and the benchmarks run the dev server).
 */
export const DEV_SERVER_FLAGS = [
  '--dynamic-config-value',
  'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value',
  'matching.numTaskqueueWritePartitions=1',
];

export async function startDevServer(options: { dbFilename?: string; uiPort?: number } = {}) {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable('TEMPORAL_CLI_PATH'),
      extraArgs: DEV_SERVER_FLAGS,
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
    },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;

/** The workflow bundle, built once per test file (webpack takes a few seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflows(quietBundlerLogger);
  return bundle;
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta),
};
