/** Activities that mirror the workflow's progress into the database and the audit log. */
import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/postgresql';
import { Contact, Delivery, Enrollment, LIVE_ENROLLMENT_STATUSES, Sequence } from '../db/entities/index.js';
import type { ActivityDeps } from './deps.js';
import { recordEnding } from './ending.js';
import { appendEvent, eventFor } from './event-log.js';
import { mirrorColumns, writeProgressMirror } from './progress-mirror.js';
import { deliveryIdempotencyKey } from './send.js';
import type { FinishEnrollmentInput, RecordProgressInput, SkipStepInput } from './types.js';

export function createBookkeeping(deps: ActivityDeps) {
  async function recordProgress(input: RecordProgressInput): Promise<void> {
    await writeProgressMirror(deps.orm.em.fork(), input, input.next);
  }

  /**
   * S4/E9: the step is recorded in the ledger as `skipped` (its reason in `error`): the row
   * takes the step's unique slot, so nothing can send it for this generation afterwards (D1).
   */
  async function skipStep(input: SkipStepInput): Promise<void> {
    const em = deps.orm.em.fork();
    const enrollment = await em.findOne(Enrollment, input.enrollmentId);
    if (!enrollment) return; // purged meanwhile: nothing left to record
    Object.assign(enrollment, mirrorColumns(input.next));
    const contact = await em.findOneOrFail(Contact, enrollment.contact);
    const now = deps.clock();
    await em
      .createQueryBuilder(Delivery)
      .insert({
        id: randomUUID(),
        workspace: enrollment.workspace,
        enrollment: enrollment.id,
        sequence: enrollment.sequence,
        contact: enrollment.contact,
        generation: input.generation,
        stepId: input.stepId,
        kind: 'first',
        status: 'skipped',
        idempotencyKey: deliveryIdempotencyKey({ ...input, kind: 'first' }),
        provider: deps.email.provider,
        toEmail: contact.email,
        error: input.reason,
        createdAt: now,
        updatedAt: now,
      })
      .onConflict(['enrollment', 'generation', 'stepId', 'kind'])
      .ignore()
      .execute();
    appendEvent(
      em,
      eventFor(enrollment, 'step.skipped', {
        stepId: input.stepId,
        reason: input.reason,
        generation: input.generation,
      }),
    );
    await em.flush();
  }

  /**
   * Records how the enrollment ended. A status the API already wrote (a stop) wins over
   * the workflow's view, and the sequence's active tag comes off the contact (E11).
   */
  async function finishEnrollment(input: FinishEnrollmentInput): Promise<void> {
    await deps.orm.em.fork().transactional(async (em) => {
      const enrollment = await em.findOne(Enrollment, input.enrollmentId);
      if (!enrollment || enrollment.generation !== input.generation) return;
      recordEnding(em, enrollment, input, deps.clock());
      const sequence = await em.findOne(Sequence, enrollment.sequence);
      if (sequence?.activeTag) {
        // Locked first, so a new generation enrolling concurrently (E3, E6) is seen below.
        const contact = await em.findOne(Contact, enrollment.contact, {
          lockMode: LockMode.PESSIMISTIC_WRITE,
        });
        const newerLive = await em.count(Enrollment, {
          sequence: enrollment.sequence,
          contact: enrollment.contact,
          id: { $ne: enrollment.id },
          status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
        });
        if (contact && newerLive === 0) {
          contact.tags = contact.tags.filter((tag) => tag !== sequence.activeTag);
        }
      }
    });
  }

  return { recordProgress, skipStep, finishEnrollment };
}
