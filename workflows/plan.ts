/**
 * What a sequence's steps look like, and the pure rules for walking them (S5). Imported by
 * the workflow, the activities and the API alike.
 */
import { Duration } from 'luxon';
import type { SendWindow } from './send-window.js';

/** A step as authored and stored in a sequence version. */
export interface StepDefinition {
  /** Stable across edits; S5 matches in-flight enrollments to the new steps by it. */
  id: string;
  name: string;
  /** ISO-8601 duration after the previous step (after enrollment for the first), e.g. `P2D`. */
  delay: string;
  /** ISO-8601 duration after the step's due time past which it is skipped as expired (S4). */
  expiresAfter?: string | null;
  subject: string;
  html: string;
  text?: string | null;
}

/** A step as the workflow needs it: timing only, no copy (copy is rendered at send time, D3). */
export interface PlannedStep {
  id: string;
  name: string;
  delayMs: number;
  expiresAfterMs: number | null;
}

/** Everything the enrollment workflow needs to know about its sequence and contact. */
export interface EnrollmentPlan {
  sequenceName: string;
  sequenceStatus: 'draft' | 'active' | 'paused' | 'deleted';
  version: number;
  steps: PlannedStep[];
  sendWindow: SendWindow | null;
  /** The contact's zone, falling back to the sequence's (T1). */
  timeZone: string;
  contactEmail: string;
}

/** Parses an ISO-8601 duration to milliseconds; null when it is not a valid duration. */
export function durationToMs(iso: string): number | null {
  const duration = Duration.fromISO(iso);
  if (!duration.isValid) return null;
  const ms = duration.as('milliseconds');
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

export function toPlannedStep(step: StepDefinition): PlannedStep {
  return {
    id: step.id,
    name: step.name,
    delayMs: durationToMs(step.delay) ?? 0,
    expiresAfterMs: step.expiresAfter ? durationToMs(step.expiresAfter) : null,
  };
}

/**
 * S5: a contact continues with the step after the last one it was sent (or skipped), in the
 * (possibly new) order, matched by step id; steps it already had are passed over, so a
 * reorder never repeats an email. When that last step was removed, the one done before it
 * counts, and so on; when none of the done steps remain, it starts from the first step it has
 * not done.
 */
export function nextStepIndex(steps: readonly PlannedStep[], doneStepIds: readonly string[]): number {
  let from = 0;
  for (let i = doneStepIds.length - 1; i >= 0; i--) {
    const position = steps.findIndex((step) => step.id === doneStepIds[i]);
    if (position >= 0) {
      from = position + 1;
      break;
    }
  }
  const done = new Set(doneStepIds);
  const next = steps.findIndex((step, index) => index >= from && !done.has(step.id));
  return next < 0 ? steps.length : next;
}

/**
 * The step that comes after `doneStepIds` (S5) and when it is due: its delay after `anchorMs`
 * (enrollment, or the last step's send). Null when none is left. The workflow waits for it and
 * the database mirrors it, so both compute it here.
 */
export function nextStepDue(
  steps: readonly PlannedStep[],
  progress: { anchorMs: number; doneStepIds: readonly string[] },
): { stepId: string; index: number; dueAtMs: number } | null {
  const index = nextStepIndex(steps, progress.doneStepIds);
  const step = steps[index];
  return step ? { stepId: step.id, index, dueAtMs: progress.anchorMs + step.delayMs } : null;
}

/** S4: a step whose end date passed before it could be sent is skipped, not sent late. */
export function isExpired(step: PlannedStep, dueAtMs: number, nowMs: number): boolean {
  return step.expiresAfterMs !== null && nowMs > dueAtMs + step.expiresAfterMs;
}
