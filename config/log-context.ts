/**
 * The ids a log line should carry (workflow, run, enrollment, request), kept for the
 * duration of one activity or request. The process logger reads them on every line, so code
 * deep inside an activity logs with the ids without threading a child logger through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  workflowId?: string;
  runId?: string;
  enrollmentId?: string;
  generation?: number;
  activityType?: string;
  attempt?: number;
  requestId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(context: LogContext, run: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, run);
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
