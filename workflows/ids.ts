/** The one place that names enrollment workflows (DESIGN §4): one id per (sequence, contact). */
export function enrollmentWorkflowId(sequenceId: string, contactId: string): string {
  return `enrollment:${sequenceId}:${contactId}`;
}

/** One fan-out run per sequence revision: a repeated start of the same change is a no-op. */
export function sequenceFanOutWorkflowId(sequenceId: string, revision: number): string {
  return `sequence:${sequenceId}:revision:${revision}`;
}

export function parseEnrollmentWorkflowId(
  workflowId: string,
): { sequenceId: string; contactId: string } | null {
  const match = /^enrollment:([^:]+):([^:]+)$/.exec(workflowId);
  return match ? { sequenceId: match[1]!, contactId: match[2]! } : null;
}

/**
 * D5: sends run on their own task queue, next to the workflows' queue, so the provider's rate
 * limit can be set on that queue alone (server-side, across every worker polling it).
 */
export function sendTaskQueue(taskQueue: string): string {
  return `${taskQueue}-sends`;
}

/**
 * Sequence fan-outs (pause, resume, edit, delete) run on their own task queue, so an emergency
 * pause is not queued behind a backlog of enrollment workflow tasks.
 */
export function fanOutTaskQueue(taskQueue: string): string {
  return `${taskQueue}-fanout`;
}
