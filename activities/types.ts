/** The contract between the enrollment workflow and its activities (plain, serializable data). */
import type { HoldSource } from '../workflows/messages.js';
import type { EnrollmentPlan } from '../workflows/plan.js';
import type { EnrollmentOutcome, EnrollmentProgress } from '../workflows/state.js';

export interface EnrollmentRef {
  enrollmentId: string;
  generation: number;
}

export interface LoadPlanInput extends EnrollmentRef {
  /**
   * The workflow's progress: the activity mirrors the step it will wait for under the plan it
   * returns (one activity and one workflow task fewer per plan than a `recordProgress` after
   * it). Absent from workflows started before it was added; they mirror with `recordProgress`.
   */
  progress?: Pick<EnrollmentProgress, 'anchorMs' | 'doneStepIds'>;
}

export type LoadPlanResult =
  | {
      kind: 'plan';
      plan: EnrollmentPlan;
      /** What the activity mirrored, when it was given the progress (see `LoadPlanInput`). */
      mirrored?: NextStepMirror | null;
    }
  /** The enrollment must not run (deleted sequence, suppressed contact, already stopped). */
  | { kind: 'ended'; outcome: EnrollmentOutcome; reason: string };

/** Where the enrollment goes next, mirrored into the database for listing and search. */
export interface NextStepMirror {
  stepId: string;
  index: number;
  dueAtMs: number;
}

export interface SendStepInput extends EnrollmentRef {
  // Workflows started by earlier versions also pass sequenceId and contactId; a send reads
  // both through the enrollment, in the statement that locks it, and ignores them.
  stepId: string;
  kind: 'first' | 'resend';
  /** The instant the workflow decided to send at (the next step's delay counts from it). */
  scheduledAtMs: number;
  next: NextStepMirror | null;
  /**
   * Set on the last step of the plan the workflow follows (that plan's version): when the step
   * is sent and that version is still the live one, the send's own transaction records the
   * enrollment as completed, sparing the workflow its `finishEnrollment` activity.
   */
  lastOfVersion?: number;
}

export type SendStepResult =
  | {
      outcome: 'sent';
      deliveryId: string;
      providerMessageId: string | null;
      alreadySent: boolean;
      /** The send also recorded the enrollment as completed (see `lastOfVersion`). */
      completedEnrollment?: boolean;
    }
  /** D2 refused because a pause is in force; the step is held, not lost. */
  | {
      outcome: 'held';
      source: HoldSource;
      reason: string;
      /** For a sequence pause: the sequence's revision the guard saw (see PauseRequest). */
      revision?: number;
    }
  /** D2 refused because the step is gone from the live version (S5); re-plan. */
  | { outcome: 'step_removed'; reason: string }
  /** D2 refused for good: the enrollment must end (stopped, suppressed, sequence deleted). */
  | { outcome: 'ended'; status: EnrollmentOutcome; reason: string }
  /** D4: the provider refused permanently (invalid address, rejected content). */
  | { outcome: 'failed'; reason: string; endsEnrollment: boolean };

export interface SkipStepInput extends EnrollmentRef {
  stepId: string;
  reason: 'expired' | 'skipped';
  next: NextStepMirror | null;
}

export interface RecordProgressInput extends EnrollmentRef {
  next: NextStepMirror | null;
}

export interface FinishEnrollmentInput extends EnrollmentRef {
  status: EnrollmentOutcome;
  reason: string;
}
