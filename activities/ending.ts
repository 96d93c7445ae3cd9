/** How an enrollment's end is written: by `finishEnrollment`, or by the send of its last step. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Enrollment } from '../db/entities/index.js';
import type { EnrollmentOutcome } from '../workflows/state.js';
import { appendEvent, eventFor } from './event-log.js';
import { mirrorColumns } from './progress-mirror.js';

/**
 * Marks a managed enrollment ended and logs `enrollment.ended`; the caller's flush writes both.
 * A status the API already wrote (a stop) wins over the workflow's view.
 */
export function recordEnding(
  em: EntityManager,
  enrollment: Enrollment,
  ending: { status: EnrollmentOutcome; reason: string; generation: number },
  now: Date,
): void {
  if (enrollment.status === 'active' || enrollment.status === 'paused') {
    enrollment.status = ending.status;
    enrollment.endReason = ending.reason;
  }
  enrollment.endedAt ??= now;
  Object.assign(enrollment, mirrorColumns(null));
  appendEvent(
    em,
    eventFor(enrollment, 'enrollment.ended', {
      status: enrollment.status,
      reason: enrollment.endReason,
      generation: ending.generation,
    }),
  );
}
