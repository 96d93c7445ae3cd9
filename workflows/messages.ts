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
}
export interface ResumeRequest {
  source: HoldSource;
}
export interface CancelRequest {
  /** Why the enrollment ends, e.g. `stopped`, `sequence_deleted`, `goal`, `suppressed`. */
  reason: string;
  /** `completed` for exit goals (E11); `cancelled` for everything else. */
  outcome?: 'cancelled' | 'completed';
}

export const pauseSignal = defineSignal<[PauseRequest]>('pause');
export const resumeSignal = defineSignal<[ResumeRequest]>('resume');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
/** The live sequence changed (publish, window, delete): re-load the plan and re-plan (S5). */
export const sequenceChangedSignal = defineSignal('sequenceChanged');

export const stateQuery = defineQuery<EnrollmentSnapshot>('state');
