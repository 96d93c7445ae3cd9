/**
 * Activity interceptors: every activity runs with its workflow, run and enrollment ids in
 * the log context (so any log line it writes carries them), and its outcome is counted and
 * logged once, in one place, whatever the activity's code does.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { createActivities } from '../activities/index.js';
import type {
  FinishEnrollmentInput,
  SendStepInput,
  SendStepResult,
  SkipStepInput,
} from '../activities/types.js';
import { withLogContext } from '../config/log-context.js';
import type { DeliveryMetrics } from './metrics.js';

type ActivityName = keyof ReturnType<typeof createActivities>;

export interface ActivityObservability {
  metrics: DeliveryMetrics;
  logger: Logger;
  /** The email provider's name (`resend`, `outbox`), a label of the sent counter. */
  provider: string;
}

export function activityInterceptors(deps: ActivityObservability): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        const ref = input.args[0] as { enrollmentId?: unknown; generation?: unknown } | undefined;
        const context = {
          // Standalone activities (none in Nudge yet) have no workflow.
          ...(info.workflowExecution
            ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId }
            : {}),
          activityType: info.activityType,
          attempt: info.attempt,
          ...(typeof ref?.enrollmentId === 'string' ? { enrollmentId: ref.enrollmentId } : {}),
          ...(typeof ref?.generation === 'number' ? { generation: ref.generation } : {}),
        };
        return withLogContext(context, async () => {
          const started = process.hrtime.bigint();
          try {
            const result = await next(input);
            record(deps, info.activityType as ActivityName, input.args[0], result, started);
            return result;
          } catch (error) {
            if (info.activityType === ('sendStep' satisfies ActivityName)) {
              deps.metrics.sendRetries.inc();
              deps.logger.warn({ err: error }, 'send failed; Temporal retries it with backoff');
            }
            throw error;
          }
        });
      },
    },
  });
}

function record(
  deps: ActivityObservability,
  activity: ActivityName,
  arg: unknown,
  result: unknown,
  started: bigint,
): void {
  const { metrics, logger } = deps;
  switch (activity) {
    case 'sendStep': {
      const input = arg as SendStepInput;
      const sent = result as SendStepResult;
      metrics.sendDuration.observe(
        { outcome: sent.outcome },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      const step = { stepId: input.stepId, kind: input.kind };
      switch (sent.outcome) {
        case 'sent':
          if (!sent.alreadySent) metrics.emailsSent.inc({ kind: input.kind, provider: deps.provider });
          logger.info(
            { ...step, deliveryId: sent.deliveryId, alreadySent: sent.alreadySent },
            sent.alreadySent ? 'step already sent (retry found the ledger row)' : 'step sent',
          );
          break;
        case 'held':
          metrics.sendsHeld.inc({ source: sent.source });
          logger.info({ ...step, reason: sent.reason }, 'send held by a pause');
          break;
        case 'failed':
          metrics.sendsFailed.inc();
          logger.warn({ ...step, reason: sent.reason }, 'send failed permanently');
          break;
        default:
          metrics.sendsRefused.inc({ outcome: sent.outcome });
          logger.info({ ...step, outcome: sent.outcome, reason: sent.reason }, 'send refused');
      }
      return;
    }
    case 'skipStep': {
      const input = arg as SkipStepInput;
      metrics.stepsSkipped.inc({ reason: input.reason });
      logger.info({ stepId: input.stepId, reason: input.reason }, 'step skipped');
      return;
    }
    case 'finishEnrollment': {
      const input = arg as FinishEnrollmentInput;
      metrics.enrollmentsEnded.inc({ status: input.status });
      logger.info({ status: input.status, reason: input.reason }, 'enrollment ended');
      return;
    }
    default:
      return;
  }
}
