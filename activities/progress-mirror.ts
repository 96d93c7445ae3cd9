/** The database's mirror of the step an enrollment waits for (DESIGN §4: the workflow owns it). */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Enrollment, LIVE_ENROLLMENT_STATUSES } from '../db/entities/index.js';
import { nextStepIndex, type PlannedStep } from '../workflows/plan.js';
import type { EnrollmentRef, NextStepMirror } from './types.js';

/**
 * Writes where the enrollment goes next. Only a live enrollment's mirror moves: one stopped or
 * ended meanwhile keeps what its ending wrote (no step), whatever a late mirror says.
 */
export async function writeProgressMirror(
  em: EntityManager,
  ref: EnrollmentRef,
  next: NextStepMirror | null,
): Promise<void> {
  await em.nativeUpdate(
    Enrollment,
    { id: ref.enrollmentId, generation: ref.generation, status: { $in: [...LIVE_ENROLLMENT_STATUSES] } },
    {
      currentStepId: next?.stepId ?? null,
      currentStepIndex: next?.index ?? null,
      dueAt: next ? new Date(next.dueAtMs) : null,
    },
  );
}

/** The step a workflow with this progress waits for next under `steps`, and when it is due. */
export function pendingStepOf(
  steps: readonly PlannedStep[],
  progress: { anchorMs: number; doneStepIds: readonly string[] },
): NextStepMirror | null {
  const index = nextStepIndex(steps, progress.doneStepIds);
  const step = steps[index];
  return step ? { stepId: step.id, index, dueAtMs: progress.anchorMs + step.delayMs } : null;
}
