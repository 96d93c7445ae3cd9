/**
 * proxyActivities and proxyLocalActivities with a one-line summary on every call, shown beside
 * the activity in the Temporal UI ("finish enrollment: cancelled (stopped)"). Summaries are
 * metadata of the event that schedules or records the activity: they add no history events
 * and no billable actions. A call site may still pass its own, more specific summary through
 * `executeWithOptions`.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type LocalActivityInterfaceFor,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';

type Activities = ReturnType<typeof createActivities>;
type Summaries = { [K in keyof Activities]?: (...args: Parameters<Activities[K]>) => string };

const summaries: Summaries = {
  loadPlan: () => 'load the live sequence plan',
  sendStep: (input) => `send step '${input.stepId}'${input.kind === 'resend' ? ' again (resend)' : ''}`,
  recordProgress: (input) =>
    input.next ? `record progress: next step '${input.next.stepId}'` : 'record progress',
  skipStep: (input) => `skip step '${input.stepId}' (${input.reason})`,
  finishEnrollment: (input) => `finish enrollment: ${input.status} (${input.reason})`,
  fanOutToEnrollments: (input) => `${input.action}: tell the enrollments of revision ${input.revision}`,
};

type CallOptions = { summary?: string };
type AnyActivity = ((...args: unknown[]) => Promise<unknown>) & {
  executeWithOptions(options: CallOptions, args: unknown[]): Promise<unknown>;
};

export function proxyActivitiesWithSummaries<A extends Activities>(
  options: ActivityOptions,
): ActivityInterfaceFor<A> {
  return withSummaries(proxyActivities<A>(options));
}

/** The same for local activities: run inside the workflow task, recorded as one marker event. */
export function proxyLocalActivitiesWithSummaries<A extends Activities>(
  options: LocalActivityOptions,
): LocalActivityInterfaceFor<A> {
  return withSummaries(proxyLocalActivities<A>(options));
}

function withSummaries<P extends object>(proxy: P): P {
  return new Proxy(proxy, {
    get(target, name, receiver) {
      const activity = Reflect.get(target, name, receiver) as AnyActivity;
      const summarize = summaries[name as keyof Activities] as ((...args: unknown[]) => string) | undefined;
      if (typeof name !== 'string' || !summarize) return activity;
      const withSummary = (args: unknown[], callOptions: CallOptions = {}) =>
        activity.executeWithOptions({ summary: summarize(...args), ...callOptions }, args);
      return Object.assign((...args: unknown[]) => withSummary(args), {
        executeWithOptions: (callOptions: CallOptions, args: unknown[]) => withSummary(args, callOptions),
      });
    },
  });
}
