/**
 * Starting contacts over: E3 restart (stop, then start a new generation from step 1) and E7
 * re-enroll (contacts who completed, were cancelled, failed or were ineligible, by list or
 * everyone in the sequence not currently active). Re-enrollment runs through bulk
 * enrollment, so E2/E10/E12 and "nothing half-written" are decided in one place.
 */
import { Enrollment, Sequence } from '../../db/entities/index.js';
import type { BulkResult } from '../schemas/bulk.js';
import type { ServiceContext } from '../context.js';
import { notFound, sequenceIsPaused } from '../errors.js';
import {
  assertEnrollable,
  bulkEnroll,
  DEFAULT_BULK_TUNING,
  type BulkOutcome,
  type BulkTuning,
} from './bulk-enrollments.js';
import {
  cancelEnrollment,
  enrollContact,
  findLiveEnrollment,
  getEnrollment,
  type EnrollResult,
} from './enrollments.js';

/** The most contacts one re-enroll request starts; `remaining` says whether to call again. */
export const RE_ENROLL_BATCH = 10_000;

/**
 * E3: the contact's live enrollment in the sequence (if any) ends `cancelled` (reason
 * `restarted`), then a new generation starts at step 1. Refused up front when the sequence
 * cannot take enrollments, so a refused restart never leaves the contact stopped.
 */
export async function restartEnrollment(ctx: ServiceContext, enrollmentId: string): Promise<EnrollResult> {
  const enrollment = await getEnrollment(ctx, enrollmentId);
  const sequence = await ctx.em.findOne(Sequence, enrollment.sequence);
  if (!sequence || sequence.status === 'deleted') throw notFound('Sequence', enrollment.sequence);
  if (sequence.status === 'paused') {
    throw sequenceIsPaused('/params/enrollmentId');
  }
  const live = await findLiveEnrollment(ctx.em.fork(), enrollment.sequence, enrollment.contact);
  if (live) {
    await cancelEnrollment(ctx, live.id, 'restarted');
    await runClosed(ctx, live.workflowId);
  }
  return enrollContact({ ...ctx, em: ctx.em.fork() }, enrollment.sequence, enrollment.contact);
}

/**
 * Waits (briefly) for a stopped enrollment's run to finish its bookkeeping, so the new
 * generation starts after it instead of replacing it mid-way (enrollment-workflows.ts).
 */
async function runClosed(ctx: ServiceContext, workflowId: string, withinMs = 10_000): Promise<void> {
  const handle = ctx.temporal.client.workflow.getHandle(workflowId);
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export type ReEnrollScope = { contactIds: string[] } | { all: true };

export interface ReEnrollOutcome extends BulkOutcome {
  /** For `all`: contacts still to re-enroll after this batch (call again); 0 for a list. */
  remaining: number;
}

/** E7: starts each contact again at step 1 (E1); contacts active now are left alone (E2). */
export async function reEnroll(
  ctx: ServiceContext,
  sequenceId: string,
  scope: ReEnrollScope,
  tuning: BulkTuning = DEFAULT_BULK_TUNING,
): Promise<ReEnrollOutcome> {
  const sequence = await ctx.em.findOne(Sequence, { id: sequenceId, workspace: ctx.workspaceId });
  if (!sequence || sequence.status === 'deleted') throw notFound('Sequence', sequenceId);
  if ('all' in scope) return reEnrollEveryoneNotActive(ctx, sequenceId, tuning);

  const ids = scope.contactIds.map((id) => id.toLowerCase());
  const enrolledBefore = await contactsEverIn(ctx, sequenceId, ids);
  const candidates = ids
    .map((contactId, index) => ({ contactId, index }))
    .filter((c) => enrolledBefore.has(c.contactId));
  const outcome = await enrollBatch(
    ctx,
    sequenceId,
    candidates.map(({ contactId }) => contactId),
    tuning,
  );
  // Back to the caller's positions and field names.
  const results: BulkResult[] = ids.map((contactId, index) => notInSequence(index, contactId));
  outcome.results.forEach((result, i) => {
    const { index } = candidates[i]!;
    results[index] = { ...result, index, field: result.field ? `/body/contactIds/${index}` : null };
  });
  const notIn = ids.length - candidates.length;
  return { results, summary: { ...outcome.summary, invalid: outcome.summary.invalid + notIn }, remaining: 0 };
}

/** Bulk enrollment of existing contacts; an empty batch still gets the sequence's checks (draft, paused). */
function enrollBatch(ctx: ServiceContext, sequenceId: string, contactIds: string[], tuning: BulkTuning) {
  if (contactIds.length > 0) {
    return bulkEnroll(
      ctx,
      sequenceId,
      contactIds.map((contactId) => ({ contactId })),
      tuning,
    );
  }
  return assertEnrollable(ctx, sequenceId, 0).then(() => ({
    results: [],
    summary: { enrolled: 0, alreadyActive: 0, ineligible: 0, invalid: 0, failed: 0 },
  }));
}

function notInSequence(index: number, contactId: string): BulkResult {
  return {
    index,
    status: 'invalid',
    contactId: null,
    enrollmentId: null,
    contactCreated: null,
    reason: 'not_in_sequence',
    field: `/body/contactIds/${index}`,
    detail: `Contact ${contactId} was never enrolled in this sequence (enroll it instead).`,
  };
}

/** Of `contactIds`, those this workspace ever enrolled in the sequence. */
async function contactsEverIn(ctx: ServiceContext, sequenceId: string, contactIds: string[]) {
  const rows = await ctx.em.find(
    Enrollment,
    { sequence: sequenceId, workspace: ctx.workspaceId, contact: { $in: contactIds } },
    { fields: ['contact'] },
  );
  return new Set(rows.map((row) => row.contact));
}

/**
 * Everyone who was in the sequence and is not active in it now, a batch at a time: those it
 * starts become active, so the next call picks up where this one stopped. Suppressed contacts
 * are left out (E12 would refuse them every time).
 */
async function reEnrollEveryoneNotActive(
  ctx: ServiceContext,
  sequenceId: string,
  tuning: BulkTuning,
): Promise<ReEnrollOutcome> {
  const notActive = `
    from (select distinct e.contact_id from enrollment e join contact c on c.id = e.contact_id
          where e.sequence_id = ? and e.workspace_id = ? and c.suppression is null) past
    where not exists (select 1 from enrollment live where live.sequence_id = ? and live.contact_id = past.contact_id
                      and live.status in ('active', 'paused'))`;
  const params = [sequenceId, ctx.workspaceId, sequenceId];
  const connection = ctx.em.getConnection();
  const batch = await connection.execute<{ contact_id: string }[]>(
    `select past.contact_id ${notActive} order by past.contact_id limit ${RE_ENROLL_BATCH}`,
    params,
  );
  const outcome = await enrollBatch(
    ctx,
    sequenceId,
    batch.map((row) => row.contact_id),
    tuning,
  );
  const [left] = await connection.execute<{ count: string }[]>(
    `select count(*) as count ${notActive}`,
    params,
  );
  return { ...outcome, remaining: Number(left?.count ?? 0) };
}
