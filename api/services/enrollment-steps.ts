/**
 * E9, managing one step of one enrollment: skip the pending step, or send a sent one again.
 * The workflow owns progress, so both are requests to it (signals); the API checks first what
 * it can (the enrollment is live, the ledger says the step went out) and then reads the
 * workflow's state back to answer whether the request took (`accepted` when it cannot tell yet).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { Delivery, type Enrollment } from '../../db/entities/index.js';
import { appendEvent, eventFor } from '../../activities/event-log.js';
import { resendStepSignal, skipStepSignal, stateQuery } from '../../workflows/messages.js';
import type { EnrollmentSnapshot } from '../../workflows/state.js';
import type { ServiceContext } from '../context.js';
import { conflict } from '../errors.js';
import { getEnrollment, notLive } from './enrollments.js';

export interface StepRequestOutcome {
  enrollmentId: string;
  stepId: string;
  /** `skipped`/`resent`: done; `accepted`: the workflow will do it (after a pause, when resumed). */
  status: 'skipped' | 'resent' | 'accepted';
}

async function liveEnrollment(ctx: ServiceContext, enrollmentId: string): Promise<Enrollment> {
  const enrollment = await getEnrollment(ctx, enrollmentId);
  if (enrollment.status !== 'active' && enrollment.status !== 'paused') throw notLive(enrollment);
  return enrollment;
}

const stepConflict = (kind: string, title: string, detail: string, stepId: string) =>
  conflict(kind, title, detail, { field: '/params/stepId', stepId });

/** E9: the pending step is skipped (recorded as `skipped` in the ledger); the next one follows its delay from now. */
export async function skipStep(
  ctx: ServiceContext,
  enrollmentId: string,
  stepId: string,
): Promise<StepRequestOutcome> {
  const enrollment = await liveEnrollment(ctx, enrollmentId);
  const handle = ctx.temporal.client.workflow.getHandle(enrollment.workflowId);
  const before = await handle.query(stateQuery);
  if (before.nextStep?.id !== stepId) {
    throw stepConflict(
      'step-not-pending',
      'Step is not the pending one',
      before.nextStep
        ? `Only the pending step (${before.nextStep.id}) can be skipped.`
        : 'The enrollment has no pending step.',
      stepId,
    );
  }
  await handle.signal(skipStepSignal, { stepId });
  const after = await readBack(
    handle,
    (state) => state.pendingSkip === stepId || state.doneStepIds.includes(stepId),
  );
  if (after.sentStepIds.includes(stepId)) {
    throw stepConflict(
      'step-already-sent',
      'Step was sent',
      'The step went out before the skip arrived.',
      stepId,
    );
  }
  await record(ctx, enrollment, 'step.skip_requested', stepId);
  return { enrollmentId, stepId, status: isSkipped(after, stepId) ? 'skipped' : 'accepted' };
}

const isSkipped = (state: EnrollmentSnapshot, stepId: string) =>
  state.doneStepIds.includes(stepId) && !state.sentStepIds.includes(stepId);

/** E9: an explicit, recorded second delivery of a step the contact was sent (once per step). */
export async function resendStep(
  ctx: ServiceContext,
  enrollmentId: string,
  stepId: string,
): Promise<StepRequestOutcome> {
  const enrollment = await liveEnrollment(ctx, enrollmentId);
  const ledger = await ctx.em.find(Delivery, {
    enrollment: enrollment.id,
    generation: enrollment.generation,
    stepId,
  });
  const first = ledger.find((row) => row.kind === 'first');
  if (!first || !['sent', 'delivered'].includes(first.status)) {
    throw stepConflict(
      'step-not-sent',
      'Step was not sent',
      first
        ? `The step's delivery is ${first.status}: only a sent email can be sent again.`
        : 'The step has not been sent to this contact yet.',
      stepId,
    );
  }
  if (ledger.some((row) => row.kind === 'resend')) {
    throw stepConflict('step-already-resent', 'Step was resent', 'A step is resent at most once.', stepId);
  }
  const handle = ctx.temporal.client.workflow.getHandle(enrollment.workflowId);
  await handle.signal(resendStepSignal, { stepId });
  const after = await readBack(
    handle,
    (state) => state.pendingResends.includes(stepId) || state.resentStepIds.includes(stepId),
  );
  await record(ctx, enrollment, 'step.resend_requested', stepId);
  return { enrollmentId, stepId, status: after.resentStepIds.includes(stepId) ? 'resent' : 'accepted' };
}

/**
 * The workflow's state once it shows `done`, or after a short while as it is: a query may be
 * answered before the workflow has taken a signal sent just before it.
 */
async function readBack(
  handle: WorkflowHandle,
  done: (state: EnrollmentSnapshot) => boolean,
  withinMs = 2_000,
): Promise<EnrollmentSnapshot> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const state = await handle.query(stateQuery);
    if (done(state) || Date.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function record(ctx: ServiceContext, enrollment: Enrollment, type: string, stepId: string) {
  const em = ctx.em.fork();
  appendEvent(em, eventFor(enrollment, type, { stepId, generation: enrollment.generation }));
  await em.flush();
}
