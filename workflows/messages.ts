/**
 * Every signal, query and update of the enrollment workflow, defined once (CONVENTIONS §2).
 * The workflow, the API and the tests import these same objects. Wire names never change
 * once shipped.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EnrollmentSnapshot } from './state.js';

/** Who asked for a pause: the enrollment itself (E8) or its whole sequence (S3). */
export type HoldSource = 'enrollment' | 'sequence';

export interface PauseRequest {
  source: HoldSource;
  /**
   * For a sequence pause or resume: the sequence's revision at that change. Fan-outs of
   * successive changes may overlap, so a workflow ignores one older than what it has seen.
   */
  revision?: number;
}
export type ResumeRequest = PauseRequest;
export interface CancelRequest {
  /** Why the enrollment ends, e.g. `stopped`, `sequence_deleted`, `goal`, `suppressed`. */
  reason: string;
  /** `completed` for exit goals (E11); `cancelled` for everything else. */
  outcome?: 'cancelled' | 'completed';
}
/** E9: names the step an operator skips (it must be the pending one) or sends again. */
export interface StepRequest {
  stepId: string;
}

export const pauseSignal = defineSignal<[PauseRequest]>('pause');
export const resumeSignal = defineSignal<[ResumeRequest]>('resume');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
/**
 * The live sequence changed (publish, window, delete: S5), or the contact's time zone (T1):
 * re-load the plan and re-plan.
 */
export const sequenceChangedSignal = defineSignal('sequenceChanged');
/** E9: skip the pending step (when it is still the one named) and continue with the next. */
export const skipStepSignal = defineSignal<[StepRequest]>('skipStep');
/** E9: send an already-sent step once more, as an explicit, recorded second delivery. */
export const resendStepSignal = defineSignal<[StepRequest]>('resendStep');

export const stateQuery = defineQuery<EnrollmentSnapshot>('state');
