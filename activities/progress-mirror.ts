/** The database's mirror of the step an enrollment waits for (DESIGN §4: the workflow owns it). */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Enrollment, LIVE_ENROLLMENT_STATUSES } from '../db/entities/index.js';
import type { EnrollmentRef, NextStepMirror } from './types.js';

/** The enrollment's columns that mirror `next` (none: no step left, or ended). */
export function mirrorColumns(next: NextStepMirror | null) {
  return {
    currentStepId: next?.stepId ?? null,
    currentStepIndex: next?.index ?? null,
    dueAt: next ? new Date(next.dueAtMs) : null,
  };
}

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
    mirrorColumns(next),
  );
}
