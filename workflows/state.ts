/** The enrollment workflow's own state: what it carries across continue-as-new and shows to queries. */
import type { HoldSource } from './messages.js';

export type EnrollmentOutcome = 'completed' | 'cancelled' | 'failed' | 'ineligible';
export type EnrollmentStatusValue = 'active' | 'paused' | EnrollmentOutcome;

/** How an enrollment ends when its last step is done: the workflow and the last send say the same. */
export const ALL_STEPS_DONE = { outcome: 'completed', reason: 'all_steps_done' } as const;

export interface EnrollmentInput {
  enrollmentId: string;
  workspaceId: string;
  sequenceId: string;
  contactId: string;
  generation: number;
  /** Present when a run continues as new: the progress so far (DESIGN §4 long runs). */
  carried?: EnrollmentProgress;
  /**
   * Continue as new once the history has this many events, even before Temporal suggests it.
   * Tests set it low to exercise continue-as-new; the API never sets it.
   */
  continueAsNewAfterEvents?: number;
}

/** Progress that must survive continue-as-new. Plain data: it is serialized into the next run. */
export interface EnrollmentProgress {
  /** When the next step's delay starts counting: enrollment start, then each step's send time. */
  anchorMs: number;
  /** Steps sent or skipped, in the order they were done. */
  doneStepIds: string[];
  /** Steps handed to the provider (a subset of doneStepIds): only these can be resent (E9). */
  sentStepIds: string[];
  /** Steps resent once already; the ledger allows one resend per step and generation. */
  resentStepIds: string[];
  /** E9: resends asked for and not yet done, oldest first. */
  resendQueue: string[];
  /** E9: the pending step an operator asked to skip, until it is skipped. */
  skipRequested: string | null;
  heldBy: HoldSource[];
  /** The newest sequence revision a sequence pause or resume was applied at (see PauseRequest). */
  sequenceRevision: number;
  pausedAtMs: number | null;
  /** Bumped on every resume, so a send refused as "paused" while a resume was on its way
   *  is retried instead of held forever. */
  resumeCount: number;
  ending: { outcome: EnrollmentOutcome; reason: string } | null;
}

export interface EnrollmentSnapshot {
  enrollmentId: string;
  generation: number;
  status: EnrollmentStatusValue;
  heldBy: HoldSource[];
  pausedAt: string | null;
  doneStepIds: string[];
  sentStepIds: string[];
  resentStepIds: string[];
  /** The live sequence version the enrollment follows (S5: moves on at each publish). */
  planVersion: number | null;
  /** E9 requests accepted and not yet carried out. */
  pendingResends: string[];
  pendingSkip: string | null;
  nextStep: { id: string; name: string; index: number; dueAt: string; sendAt: string } | null;
  endReason: string | null;
}

export interface EnrollmentResult {
  status: EnrollmentOutcome;
  reason: string;
  doneStepIds: string[];
}

export function startProgress(startedAtMs: number): EnrollmentProgress {
  return {
    anchorMs: startedAtMs,
    doneStepIds: [],
    sentStepIds: [],
    resentStepIds: [],
    resendQueue: [],
    skipRequested: null,
    heldBy: [],
    sequenceRevision: 0,
    pausedAtMs: null,
    resumeCount: 0,
    ending: null,
  };
}

export function statusOf(progress: EnrollmentProgress): EnrollmentStatusValue {
  if (progress.ending) return progress.ending.outcome;
  return progress.heldBy.length > 0 ? 'paused' : 'active';
}
