/**
 * Changing a sequence that may have contacts in it: edit (S1, S5), pause (S3), resume (S4),
 * delete and purge (S6). Each change commits under the sequence's row lock, bumps its
 * revision and then fans out to the enrollments (changeSequence in ./sequence-fanout.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendEvent } from '../../activities/event-log.js';
import type { Sequence } from '../../db/entities/index.js';
import { SEQUENCE_DELETED, type SequenceFanOutAction } from '../../workflows/fanout-types.js';
import type { SendWindow } from '../../workflows/send-window.js';
import type { ServiceContext } from '../context.js';
import { conflict } from '../errors.js';
import type { SequenceUpdate } from '../schemas/sequences.js';
import { changeSequence, startSequenceFanOut } from './sequence-fanout.js';
import { checkSettings, toStepDefinitions } from './sequences.js';

function event(tx: EntityManager, sequence: Sequence, type: string, data: Record<string, unknown> = {}) {
  appendEvent(tx, {
    workspace: sequence.workspace,
    sequence: sequence.id,
    type,
    data: { revision: sequence.revision + 1, ...data },
  });
}

const notPublished = () =>
  conflict(
    'sequence-not-published',
    'Sequence is a draft',
    'Publish the sequence first: a draft has no enrollments to pause or resume (S1).',
    { field: '/params/sequenceId' },
  );

/**
 * S1/S5: steps are saved to the draft (saving never loses work; publishing makes them live).
 * Settings apply at once: a live sequence's enrollments re-plan (a new window or time zone
 * moves their pending send), and a new active tag replaces the old one on active contacts.
 */
export function updateSequence(ctx: ServiceContext, sequenceId: string, input: SequenceUpdate) {
  checkSettings(input);
  const draftSteps = input.steps ? toStepDefinitions(input.steps) : null;
  return changeSequence(ctx, sequenceId, async (sequence, tx) => {
    // E11: the tag lists as they will be (stored, overridden by the patch) must not overlap.
    checkSettings(
      { triggerTags: sequence.triggerTags, exitTags: sequence.exitTags, ...input },
      input.exitTags !== undefined ? '/body/exitTags' : '/body/triggerTags',
    );
    if (draftSteps) sequence.draftSteps = draftSteps;
    if (input.name !== undefined) sequence.name = input.name;
    if (input.triggerTags !== undefined) sequence.triggerTags = input.triggerTags;
    if (input.exitTags !== undefined) sequence.exitTags = input.exitTags;
    if (input.sendWindow !== undefined) sequence.sendWindow = (input.sendWindow as SendWindow | null) ?? null;
    if (input.timeZone !== undefined) sequence.timeZone = input.timeZone;
    if (input.activeTag !== undefined && input.activeTag !== (sequence.activeTag ?? null)) {
      await replaceActiveTag(tx, sequence, input.activeTag);
      sequence.activeTag = input.activeTag;
    }
    const replans = ['name', 'sendWindow', 'timeZone'].some((field) => field in input);
    const published = sequence.liveVersion !== null && sequence.liveVersion !== undefined;
    event(tx, sequence, 'sequence.updated', { fields: Object.keys(input).sort() });
    return published && replans ? 'changed' : null;
  });
}

/** E11 stays true after a rename of the active tag: contacts active in the sequence carry the new one. */
async function replaceActiveTag(tx: EntityManager, sequence: Sequence, next: string | null) {
  await tx.getConnection().execute(
    `update contact set tags = (
       select coalesce(array_agg(distinct tag), '{}') from unnest(
         array_remove(tags, ?::text) || (case when ?::text is null then '{}'::text[] else array[?::text] end)
       ) as tag)
     where id in (select contact_id from enrollment where sequence_id = ? and status in ('active', 'paused'))`,
    [sequence.activeTag ?? null, next, next, sequence.id],
    'all',
    tx.getTransactionContext(),
  );
}

/** S3: no new enrollments; every pending step is held (not sent, not skipped, not lost). */
export function pauseSequence(ctx: ServiceContext, sequenceId: string) {
  return switchSequence(ctx, sequenceId, 'paused', 'pause');
}

/** S4: held steps pick up where they left off; overdue ones go at the next valid send time. */
export function resumeSequence(ctx: ServiceContext, sequenceId: string) {
  return switchSequence(ctx, sequenceId, 'active', 'resume');
}

/**
 * Pause and resume: a sequence already in the target state repeats its fan-out (so a retried
 * call after a crash still reaches every enrollment) instead of recording a second change.
 */
function switchSequence(
  ctx: ServiceContext,
  sequenceId: string,
  target: 'paused' | 'active',
  change: 'pause' | 'resume',
) {
  return changeSequence(ctx, sequenceId, async (sequence, tx) => {
    if (sequence.status === 'draft') throw notPublished();
    if (sequence.status === target) return repeatFanOut(ctx, sequence, change);
    sequence.status = target;
    event(tx, sequence, change === 'pause' ? 'sequence.paused' : 'sequence.resumed');
    return change;
  });
}

/**
 * A pause (or resume) repeated by a client whose first call failed after its commit: the
 * state is right already; make sure its fan-out runs (starting it again is a no-op if it did).
 */
async function repeatFanOut(ctx: ServiceContext, sequence: Sequence, action: SequenceFanOutAction) {
  if (sequence.revision > 0) await startSequenceFanOut(ctx.temporal, sequence, action);
  return 'unchanged' as const;
}

export interface DeleteOutcome {
  sequenceId: string;
  purged: boolean;
  /** Enrollments the delete ended (`cancelled`, reason `sequence_deleted`). */
  enrollmentsEnded: number;
}

/**
 * S6: permanent. Live enrollments end `cancelled` (reason `sequence_deleted`) in the same
 * transaction, so nothing unsent sends after this returns; their active tags come off. The
 * enrollment, delivery and event records stay for audit, unless `purge` erases everything of
 * the sequence: its rows now, its workflow histories through the fan-out.
 */
export async function deleteSequence(
  ctx: ServiceContext,
  sequenceId: string,
  options: { purge: boolean },
): Promise<DeleteOutcome> {
  let enrollmentsEnded = 0;
  await changeSequence(ctx, sequenceId, async (sequence, tx) => {
    const run = (sql: string, params: unknown[]) =>
      tx.getConnection().execute(sql, params, 'all', tx.getTransactionContext());
    if (sequence.activeTag) {
      // Contacts first, then enrollments: the lock order of every writer (no deadlocks).
      await run(
        `update contact set tags = array_remove(tags, ?::text)
         where id in (select contact_id from enrollment where sequence_id = ? and status in ('active', 'paused'))`,
        [sequence.activeTag, sequence.id],
      );
    }
    const ended = (await run(
      `with ended as (
         update enrollment set status = 'cancelled', end_reason = ?, ended_at = now(), paused_at = null,
           current_step_id = null, current_step_index = null, due_at = null, updated_at = now()
         where sequence_id = ? and status in ('active', 'paused')
         returning id, contact_id, workspace_id)
       insert into event_log (workspace_id, sequence_id, contact_id, enrollment_id, type, data, created_at)
       select workspace_id, ?, contact_id, id, 'enrollment.cancelled', ?::jsonb, now() from ended
       returning id`,
      [SEQUENCE_DELETED, sequence.id, sequence.id, JSON.stringify({ reason: SEQUENCE_DELETED })],
    )) as unknown[];
    enrollmentsEnded = ended.length;
    sequence.status = 'deleted';
    sequence.deletedAt = new Date();
    if (!options.purge) {
      event(tx, sequence, 'sequence.deleted', { enrollmentsEnded });
      return 'cancel';
    }
    // Purge: the audit goes too. Versions, enrollments and deliveries go with the sequence
    // row (foreign keys cascade); webhook receipts and events name it by plain id.
    await run(
      `delete from webhook_event where delivery_id in (select id from delivery where sequence_id = ?)`,
      [sequence.id],
    );
    await run(`delete from event_log where sequence_id = ?`, [sequence.id]);
    await run(`delete from sequence where id = ?`, [sequence.id]);
    tx.getUnitOfWork().unsetIdentity(sequence);
    appendEvent(tx, { workspace: sequence.workspace, type: 'sequence.purged', data: { sequenceId } });
    return 'purge';
  });
  return { sequenceId, purged: options.purge, enrollmentsEnded };
}
