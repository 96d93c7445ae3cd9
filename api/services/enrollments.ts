/**
 * Starting, reading, pausing, resuming and stopping enrollments. The database row is the
 * gate for E2/E10 (a partial unique index allows one live enrollment per sequence and
 * contact); the Temporal workflow is started inside the same transaction, so a failed start
 * leaves nothing behind and a failed commit leaves a workflow that ends itself on start.
 */
import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  Contact,
  Delivery,
  Enrollment,
  LIVE_ENROLLMENT_STATUSES,
  Sequence,
} from '../../db/entities/index.js';
import { appendEvent, eventFor } from '../../activities/event-log.js';
import { holdEnrollmentStartLocks } from '../../db/enrollment-start-lock.js';
import { enrollmentWorkflowId } from '../../workflows/ids.js';
import { cancelSignal, pauseSignal, resumeSignal } from '../../workflows/messages.js';
import type { ServiceContext } from '../context.js';
import { notFound, ProblemError, sequenceIsDraft, sequenceIsPaused } from '../errors.js';
import { assertStillEnrollable, startEnrollmentWorkflow } from './enrollment-workflows.js';

export type EnrollResult =
  | { kind: 'enrolled'; enrollment: Enrollment }
  | { kind: 'already_active'; enrollment: Enrollment }
  | { kind: 'ineligible'; enrollment: Enrollment; reason: string };

/** E1/E2/E12: start a contact at step 1, return the live enrollment if there is one, refuse suppressed contacts. */
export async function enrollContact(
  ctx: ServiceContext,
  sequenceId: string,
  contactId: string,
): Promise<EnrollResult> {
  const sequence = await ctx.em.findOne(Sequence, { id: sequenceId, workspace: ctx.workspaceId });
  if (!sequence || sequence.status === 'deleted') throw notFound('Sequence', sequenceId);
  const contact = await ctx.em.findOne(Contact, { id: contactId, workspace: ctx.workspaceId });
  if (!contact) throw notFound('Contact', contactId);

  const live = await findLiveEnrollment(ctx.em, sequence.id, contact.id);
  if (live) return { kind: 'already_active', enrollment: live };

  if (sequence.status === 'draft') {
    throw sequenceIsDraft();
  }
  if (sequence.status === 'paused') {
    // S3: the attempt is recorded, not queued.
    await recordAttempt(ctx, sequence, contact, 'sequence_paused');
    throw sequenceIsPaused();
  }

  try {
    return await ctx.em.fork().transactional(async (tx) => {
      const generation = (await lastGeneration(tx, sequence.id, contact.id)) + 1;
      const workflowId = enrollmentWorkflowId(sequence.id, contact.id);
      if (contact.suppression) {
        const reason = `contact_${contact.suppression}`;
        const enrollment = tx.create(Enrollment, {
          workspace: ctx.workspaceId,
          sequence: sequence.id,
          contact: contact.id,
          generation,
          status: 'ineligible',
          workflowId,
          endReason: reason,
          endedAt: new Date(),
        });
        appendEvent(tx, eventFor(enrollment, 'enrollment.ineligible', { reason }));
        return { kind: 'ineligible' as const, enrollment, reason };
      }
      const enrollment = tx.create(Enrollment, {
        workspace: ctx.workspaceId,
        sequence: sequence.id,
        contact: contact.id,
        generation,
        status: 'active',
        workflowId,
      });
      if (sequence.activeTag) await addActiveTag(tx, contact.id, sequence.activeTag);
      appendEvent(tx, eventFor(enrollment, 'enrollment.started', { generation }));
      await tx.flush(); // the unique index decides E10 here, before anything is started
      await holdEnrollmentStartLocks(tx, [enrollment.id]);
      const handle = await startEnrollmentWorkflow(ctx.temporal, {
        enrollmentId: enrollment.id,
        workspaceId: ctx.workspaceId,
        generation,
        sequence,
        contact,
      });
      enrollment.runId = handle.firstExecutionRunId;
      await assertStillEnrollable(tx, sequence.id);
      return { kind: 'enrolled' as const, enrollment };
    });
  } catch (error) {
    if (error instanceof ProblemError && error.kind === 'sequence-paused') {
      await recordAttempt(ctx, sequence, contact, 'sequence_paused'); // S3: paused meanwhile
    }
    if (error instanceof UniqueConstraintViolationException) {
      // E10: a concurrent call won the race; return its enrollment.
      const winner = await findLiveEnrollment(ctx.em.fork(), sequence.id, contact.id);
      if (winner) return { kind: 'already_active', enrollment: winner };
    }
    throw error;
  }
}

/** E11: appended in SQL, so tags written since `contact` was read are kept (no lost update). */
async function addActiveTag(tx: EntityManager, contactId: string, tag: string): Promise<void> {
  await tx
    .getConnection()
    .execute(
      'update contact set tags = array_append(tags, ?), updated_at = now() where id = ? and not (? = any(tags))',
      [tag, contactId, tag],
      'all',
      tx.getTransactionContext(),
    );
}

export async function findLiveEnrollment(em: EntityManager, sequenceId: string, contactId: string) {
  return em.findOne(Enrollment, {
    sequence: sequenceId,
    contact: contactId,
    status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
  });
}

async function lastGeneration(em: EntityManager, sequenceId: string, contactId: string): Promise<number> {
  const [row] = await em
    .getConnection()
    .execute<{ max: number | null }[]>(
      'select max(generation) as max from enrollment where sequence_id = ? and contact_id = ?',
      [sequenceId, contactId],
      'all',
      em.getTransactionContext(),
    );
  return row?.max ?? 0;
}

async function recordAttempt(ctx: ServiceContext, sequence: Sequence, contact: Contact, reason: string) {
  const em = ctx.em.fork();
  appendEvent(em, {
    workspace: ctx.workspaceId,
    sequence: sequence.id,
    contact: contact.id,
    type: 'enrollment.refused',
    data: { reason },
  });
  await em.flush();
}

export async function getEnrollment(ctx: ServiceContext, enrollmentId: string): Promise<Enrollment> {
  const enrollment = await ctx.em.findOne(Enrollment, { id: enrollmentId, workspace: ctx.workspaceId });
  if (!enrollment) throw notFound('Enrollment', enrollmentId);
  return enrollment;
}

export async function deliveriesOf(ctx: ServiceContext, enrollmentId: string): Promise<Delivery[]> {
  return ctx.em.find(Delivery, { enrollment: enrollmentId }, { orderBy: { createdAt: 'asc' } });
}

export const notLive = (enrollment: Enrollment) =>
  new ProblemError(
    409,
    'enrollment-ended',
    'Enrollment has ended',
    `The enrollment is ${enrollment.status}.`,
    {
      enrollmentStatus: enrollment.status,
    },
  );

/**
 * Applies a status change and signals the workflow inside one transaction: the row is
 * locked, the send guard (D2) sees the change from the moment this returns, and if the
 * signal cannot be delivered nothing is changed.
 */
async function transition(
  ctx: ServiceContext,
  enrollmentId: string,
  apply: (enrollment: Enrollment, em: EntityManager) => Promise<boolean> | boolean,
  signal: (
    handle: ReturnType<ServiceContext['temporal']['client']['workflow']['getHandle']>,
  ) => Promise<void>,
): Promise<Enrollment> {
  const { contact } = await getEnrollment(ctx, enrollmentId);
  const em = ctx.em.fork();
  const enrollment = await em.transactional(async (tx) => {
    // Same lock order as the send activity (contact, then enrollment): no deadlocks.
    await tx.findOneOrFail(Contact, contact, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const row = await tx.findOneOrFail(Enrollment, enrollmentId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const changed = await apply(row, tx);
    if (!changed) return row;
    await tx.flush();
    try {
      await signal(ctx.temporal.client.workflow.getHandle(row.workflowId));
    } catch (error) {
      // A workflow that is already gone has nothing left to send: the change still stands.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    return row;
  });
  return enrollment;
}

/** E8: hold the pending step until resumed. */
export async function pauseEnrollment(ctx: ServiceContext, enrollmentId: string): Promise<Enrollment> {
  return transition(
    ctx,
    enrollmentId,
    (enrollment, em) => {
      if (enrollment.status === 'paused') return false;
      if (enrollment.status !== 'active') throw notLive(enrollment);
      enrollment.status = 'paused';
      enrollment.pausedAt = new Date();
      appendEvent(em, eventFor(enrollment, 'enrollment.paused', {}));
      return true;
    },
    (handle) => handle.signal(pauseSignal, { source: 'enrollment' }),
  );
}

/** E8: the held step picks up where it left off (its due time does not move). */
export async function resumeEnrollment(ctx: ServiceContext, enrollmentId: string): Promise<Enrollment> {
  return transition(
    ctx,
    enrollmentId,
    (enrollment, em) => {
      if (enrollment.status === 'active') return false;
      if (enrollment.status !== 'paused') throw notLive(enrollment);
      enrollment.status = 'active';
      enrollment.pausedAt = null;
      appendEvent(em, eventFor(enrollment, 'enrollment.resumed', {}));
      return true;
    },
    (handle) => handle.signal(resumeSignal, { source: 'enrollment' }),
  );
}

/** How an enrollment can be ended from outside: stopped (E4) or its goal reached (E11). */
export interface EndRequest {
  outcome: 'cancelled' | 'completed';
  reason: string;
}

/**
 * Ends a live enrollment: E4 (stop, `cancelled`) or E11 (exit goal, `completed` with reason
 * `goal`). No more sends from this sequence; the contact may be enrolled again later.
 */
export async function endEnrollment(
  ctx: ServiceContext,
  enrollmentId: string,
  { outcome, reason }: EndRequest,
): Promise<Enrollment> {
  return transition(
    ctx,
    enrollmentId,
    async (enrollment, em) => {
      if (enrollment.status === outcome) return false; // already ended this way: idempotent
      if (enrollment.status !== 'active' && enrollment.status !== 'paused') throw notLive(enrollment);
      enrollment.status = outcome;
      enrollment.endReason = reason;
      enrollment.endedAt = new Date();
      enrollment.pausedAt = null;
      await removeActiveTag(em, enrollment);
      appendEvent(em, eventFor(enrollment, `enrollment.${outcome}`, { reason }));
      return true;
    },
    (handle) => handle.signal(cancelSignal, { reason, outcome }),
  );
}

/** E4: no more sends from this sequence; the contact may be enrolled again later. */
export function cancelEnrollment(ctx: ServiceContext, enrollmentId: string, reason = 'stopped') {
  return endEnrollment(ctx, enrollmentId, { outcome: 'cancelled', reason });
}

/** E11: the sequence's active tag is on the contact exactly while the enrollment is live. */
async function removeActiveTag(em: EntityManager, enrollment: Enrollment): Promise<void> {
  const sequence = await em.findOne(Sequence, enrollment.sequence);
  if (!sequence?.activeTag) return;
  const contact = await em.findOne(Contact, enrollment.contact);
  if (contact) contact.tags = contact.tags.filter((tag) => tag !== sequence.activeTag);
}
