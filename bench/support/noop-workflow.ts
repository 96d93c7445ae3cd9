/**
 * The due-burst baseline's workflow (bundled into the baseline worker; sandbox-safe): sleep
 * until the instant the whole burst is due, then hand one no-op activity to the send task
 * queue, exactly where Nudge's enrollment workflow hands its send. Returns when it ran.
 */
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { sendTaskQueue } from '../../workflows/ids.js';

export interface NoopActivities {
  /** Registered under the send's name, so the baseline worker is built as Nudge's send worker is. */
  sendStep(): Promise<number>;
}

export async function dueBurstNoop(dueAtMs: number): Promise<number> {
  await sleep(Math.max(1, dueAtMs - Date.now()));
  const { sendStep } = proxyActivities<NoopActivities>({
    taskQueue: sendTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2 minutes',
  });
  return sendStep();
}
