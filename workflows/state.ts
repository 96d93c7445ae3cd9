/** The enrollment workflow's own state: what it carries across continue-as-new and shows to queries. */
import type { HoldSource } from './messages.js';

export type EnrollmentOutcome = 'completed' | 'cancelled' | 'failed' | 'ineligible';
export type EnrollmentStatusValue = 'active' | 'paused' | EnrollmentOutcome;

export interface EnrollmentInput {
  enrollmentId: string;
  workspaceId: string;
  sequenceId: string;
  contactId: string;
  generation: number;
  /** Present when a run continues as new: the progress so far (DESIGN §4 long runs). */
  carried?: EnrollmentProgress;
}

/** Progress that must survive continue-as-new. Plain data: it is serialized into the next run. */
export interface EnrollmentProgress {
  /** When the next step's delay starts counting: enrollment start, then each step's send time. */
  anchorMs: number;
  /** Steps sent or skipped, in the order they were done. */
  doneStepIds: string[];
  heldBy: HoldSource[];
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
    heldBy: [],
    pausedAtMs: null,
    resumeCount: 0,
    ending: null,
  };
}

export function statusOf(progress: EnrollmentProgress): EnrollmentStatusValue {
  if (progress.ending) return progress.ending.outcome;
  return progress.heldBy.length > 0 ? 'paused' : 'active';
}
