/**
 * Bulk enrollment (issue 5): up to 10,000 contacts in one request, by id or by email
 * (creating or updating contacts), answered with one result per item.
 *
 * Speed comes from doing per chunk what single enrollment does per contact: one statement
 * upserts the contacts, one inserts the enrollments (the partial unique index
 * `enrollment_one_live_per_contact` decides E2/E10 through ON CONFLICT DO NOTHING), one
 * writes the audit events, and the workflows are started concurrently, bounded, with several
 * chunks in flight so Temporal is never left idle.
 *
 * Nothing is half-written: each chunk's enrollment rows are inserted in a transaction that
 * stays open while their workflows start, holding each new enrollment's start lock
 * (db/enrollment-start-lock.ts). A row whose workflow failed to start is deleted before the
 * commit (with its events and the active tag it added) and reported `failed`; if the commit
 * itself fails, every workflow of the chunk finds no row when its first activity runs and
 * ends itself. Contacts upserted by email are kept either way: creating or updating a
 * contact is itself idempotent, and a retry finds them.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import pLimit, { type LimitFunction } from 'p-limit';
import { LIVE_ENROLLMENT_STATUSES, Sequence } from '../../db/entities/index.js';
import { holdEnrollmentStartLocks } from '../../db/enrollment-start-lock.js';
import { appendEvent } from '../../activities/event-log.js';
import { isValidTimeZone } from '../../workflows/send-window.js';
import { enrollmentWorkflowId } from '../../workflows/ids.js';
import type { ServiceContext } from '../context.js';
import {
  fieldOf,
  notFound,
  ProblemError,
  sequenceIsDraft,
  sequenceIsPaused,
  type ValidationIssue,
} from '../errors.js';
import { BulkContactByEmail, BulkContactById, type BulkResult, type BulkStatus } from '../schemas/bulk.js';
import type { ContactInput } from '../schemas/contacts.js';
import { compileStrict } from '../validation.js';
import { findNulCharacter } from '../http/nul-characters.js';
import { assertStillEnrollable, startEnrollmentWorkflow } from './enrollment-workflows.js';
import { normalizeEmail, replanLiveEnrollments } from './contacts.js';

export interface BulkTuning {
  /** Enrollments inserted per transaction (each holds this many advisory locks). */
  chunkSize: number;
  /** Chunks in flight at once (each holds a database connection while its workflows start). */
  chunkConcurrency: number;
  /** Workflow starts in flight at once, across all chunks of the request. */
  startConcurrency: number;
}

export const DEFAULT_BULK_TUNING: BulkTuning = { chunkSize: 250, chunkConcurrency: 3, startConcurrency: 64 };

export interface BulkOutcome {
  results: BulkResult[];
  summary: { enrolled: number; alreadyActive: number; ineligible: number; invalid: number; failed: number };
}

interface ContactRow {
  id: string;
  email: string;
  suppression: string | null;
}

interface Candidate {
  index: number;
  contact: ContactRow;
  created: boolean | null;
}

const validateById = compileStrict(BulkContactById);
const validateByEmail = compileStrict(BulkContactByEmail);

/** Ids and other lists go to PostgreSQL as one JSON parameter (the driver would splice arrays). */
const json = (value: unknown) => JSON.stringify(value);
const UUIDS_OF = (param = '?') => `(select value::uuid from jsonb_array_elements_text(${param}::jsonb))`;

/**
 * The sequence takes enrollments: it exists, is published (S1) and is not paused (S3: the
 * attempt of `attempted` contacts is recorded, not queued). Throws the problem otherwise.
 */
export async function assertEnrollable(
  ctx: ServiceContext,
  sequenceId: string,
  attempted: number,
): Promise<Sequence> {
  const sequence = await ctx.em.findOne(Sequence, { id: sequenceId, workspace: ctx.workspaceId });
  if (!sequence || sequence.status === 'deleted') throw notFound('Sequence', sequenceId);
  if (sequence.status === 'draft') {
    throw sequenceIsDraft();
  }
  if (sequence.status === 'paused') {
    // S3: the attempt is recorded, not queued.
    const em = ctx.em.fork();
    appendEvent(em, {
      workspace: ctx.workspaceId,
      sequence: sequence.id,
      type: 'enrollment.refused',
      data: { reason: 'sequence_paused', via: 'bulk', count: attempted },
    });
    await em.flush();
    throw sequenceIsPaused();
  }
  return sequence;
}

export async function bulkEnroll(
  ctx: ServiceContext,
  sequenceId: string,
  items: unknown[],
  tuning: BulkTuning = DEFAULT_BULK_TUNING,
): Promise<BulkOutcome> {
  const sequence = await assertEnrollable(ctx, sequenceId, items.length);

  const results: BulkResult[] = new Array(items.length);
  const set = (index: number, status: BulkStatus, extra: Partial<BulkResult> = {}) => {
    results[index] = {
      index,
      status,
      contactId: null,
      enrollmentId: null,
      contactCreated: null,
      reason: null,
      field: null,
      detail: null,
      ...extra,
    };
  };

  // 1. Each item on its own: a bad item is reported, never the whole request refused.
  const byId: { index: number; contactId: string }[] = [];
  const byEmail: { index: number; email: string; input: ContactInput }[] = [];
  const firstByEmail = new Map<string, number>();
  items.forEach((item, index) => {
    const at = `body/contacts/${index}`;
    const invalid = (issue: ValidationIssue) =>
      set(index, 'invalid', {
        reason: 'validation',
        field: fieldOf(issue, at),
        detail: issue.message ?? 'is invalid',
      });
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      return invalid({ instancePath: '', message: 'must be an object with `contactId` or `email`' });
    }
    const nul = findNulCharacter(item, '');
    if (nul !== null)
      return invalid({ instancePath: nul, message: 'must not contain NUL (U+0000) characters' });
    if ('contactId' in item) {
      if (!validateById(item)) return invalid(validateById.errors![0]!);
      byId.push({ index, contactId: (item as { contactId: string }).contactId.toLowerCase() });
      return;
    }
    if (!validateByEmail(item)) return invalid(validateByEmail.errors![0]!);
    const input = item as ContactInput;
    if (input.timeZone !== undefined && !isValidTimeZone(input.timeZone)) {
      return invalid({ instancePath: '/timeZone', message: `${input.timeZone} is not an IANA time zone` });
    }
    const email = normalizeEmail(input.email);
    const first = firstByEmail.get(email);
    if (first !== undefined) {
      return set(index, 'invalid', {
        reason: 'duplicate',
        field: `/body/contacts/${index}/email`,
        detail: `the same contact as item ${first}`,
      });
    }
    firstByEmail.set(email, index);
    byEmail.push({ index, email, input });
  });

  // 2. Contacts: upsert those given by email, load those given by id.
  const candidates: Candidate[] = [];
  const upserted = await upsertContacts(
    ctx,
    byEmail.map((b) => ({ email: b.email, input: b.input })),
  );
  for (const { index, email } of byEmail) {
    const row = upserted.get(email)!;
    candidates.push({ index, contact: row, created: row.created });
  }
  const found = await loadContacts(
    ctx,
    byId.map((b) => b.contactId),
  );
  for (const { index, contactId } of byId) {
    const row = found.get(contactId);
    if (!row) {
      set(index, 'invalid', {
        reason: 'contact_not_found',
        field: `/body/contacts/${index}/contactId`,
        detail: `No contact with id ${contactId}.`,
      });
    } else {
      candidates.push({ index, contact: row, created: null });
    }
  }
  candidates.sort((a, b) => a.index - b.index);

  // The same contact twice (by id and by email, say): the first item counts.
  const firstByContact = new Map<string, number>();
  const unique = candidates.filter(({ index, contact }) => {
    const first = firstByContact.get(contact.id);
    if (first === undefined) {
      firstByContact.set(contact.id, index);
      return true;
    }
    set(index, 'invalid', {
      reason: 'duplicate',
      contactId: contact.id,
      field: `/body/contacts/${index}`,
      detail: `the same contact as item ${first}`,
    });
    return false;
  });

  // 3. E2: contacts already live in the sequence are left as they are.
  const contactIds = unique.map((c) => c.contact.id);
  const live = await liveEnrollments(ctx.em, sequence.id, contactIds);
  const generations = await lastGenerations(ctx.em, sequence.id, contactIds);
  const eligible: Candidate[] = [];
  const suppressed: Candidate[] = [];
  for (const candidate of unique) {
    const base = { contactId: candidate.contact.id, contactCreated: candidate.created };
    const liveId = live.get(candidate.contact.id);
    if (liveId) set(candidate.index, 'already_active', { ...base, enrollmentId: liveId });
    else if (candidate.contact.suppression) suppressed.push(candidate);
    else eligible.push(candidate);
  }

  // 4. E12: suppressed contacts are refused and recorded as ineligible enrollments.
  const ineligibleIds = await recordIneligible(ctx, sequence, suppressed, generations);
  for (const candidate of suppressed) {
    set(candidate.index, 'ineligible', {
      contactId: candidate.contact.id,
      contactCreated: candidate.created,
      enrollmentId: ineligibleIds.get(candidate.contact.id) ?? null,
      reason: `contact_${candidate.contact.suppression}`,
    });
  }

  // 5. E1: the rest start at step 1, chunk by chunk.
  const starts = pLimit(tuning.startConcurrency);
  const chunkLimit = pLimit(tuning.chunkConcurrency);
  const chunks: Candidate[][] = [];
  for (let i = 0; i < eligible.length; i += tuning.chunkSize)
    chunks.push(eligible.slice(i, i + tuning.chunkSize));
  const startErrors: unknown[] = [];
  await Promise.all(
    chunks.map((chunk) =>
      chunkLimit(async () => {
        const outcome = await enrollChunk(ctx, sequence, chunk, generations, starts);
        for (const candidate of chunk) {
          const base = { contactId: candidate.contact.id, contactCreated: candidate.created };
          const result = outcome.get(candidate.contact.id)!;
          if (result.kind === 'enrolled')
            set(candidate.index, 'enrolled', { ...base, enrollmentId: result.enrollmentId });
          else if (result.kind === 'already_active') {
            set(candidate.index, 'already_active', { ...base, enrollmentId: result.enrollmentId });
          } else {
            startErrors.push(result.error);
            set(candidate.index, 'failed', { ...base, reason: result.reason, detail: result.detail });
          }
        }
      }),
    ),
  );

  // T1: an existing contact given a time zone re-plans its live enrollments elsewhere.
  const rezoned = byEmail
    .filter(({ input, email }) => input.timeZone !== undefined && upserted.get(email)?.created === false)
    .map(({ email }) => upserted.get(email)!.id);
  await replanLiveEnrollments(ctx, rezoned, sequence.id);

  const summary = { enrolled: 0, alreadyActive: 0, ineligible: 0, invalid: 0, failed: 0 };
  for (const result of results) {
    if (result.status === 'already_active') summary.alreadyActive++;
    else summary[result.status]++;
  }
  // Temporal is down and nothing could start: one 503 says it better than N failures.
  if (summary.failed > 0 && summary.failed === eligible.length && summary.enrolled === 0)
    throw startErrors[0];
  return { results, summary };
}

async function upsertContacts(
  ctx: ServiceContext,
  contacts: { email: string; input: ContactInput }[],
): Promise<Map<string, ContactRow & { created: boolean }>> {
  const rows = new Map<string, ContactRow & { created: boolean }>();
  // Sorted by email so concurrent bulk requests lock shared contacts in the same order.
  const sorted = [...contacts].sort((a, b) => (a.email < b.email ? -1 : 1));
  for (let i = 0; i < sorted.length; i += 1000) {
    const now = new Date().toISOString();
    const records = sorted.slice(i, i + 1000).map(({ email, input }) => ({
      id: randomUUID(),
      email,
      name: input.name ?? null,
      time_zone: input.timeZone ?? null,
      attributes: input.attributes ?? {},
      tags: input.tags ?? [],
      created_at: now,
    }));
    const returned = await ctx.em.getConnection().execute<(ContactRow & { created: boolean })[]>(
      `insert into contact as c (id, workspace_id, email, name, time_zone, attributes, tags, created_at, updated_at)
         select r.id, ?, r.email, r.name, r.time_zone, r.attributes,
                coalesce((select array_agg(t) from jsonb_array_elements_text(r.tags) as t), '{}'),
                r.created_at, r.created_at
           from jsonb_to_recordset(?::jsonb)
             as r(id uuid, email text, name text, time_zone text, attributes jsonb, tags jsonb, created_at timestamptz)
          order by r.email
       on conflict (workspace_id, email) do update set
         name = coalesce(excluded.name, c.name),
         time_zone = coalesce(excluded.time_zone, c.time_zone),
         attributes = c.attributes || excluded.attributes,
         tags = c.tags || coalesce((select array_agg(t) from unnest(excluded.tags) as t where not (t = any(c.tags))), '{}'),
         updated_at = excluded.updated_at
       returning id, email, suppression, (xmax = 0) as created`,
      [ctx.workspaceId, json(records)],
    );
    for (const row of returned) rows.set(row.email, row);
  }
  return rows;
}

async function loadContacts(ctx: ServiceContext, ids: string[]): Promise<Map<string, ContactRow>> {
  if (ids.length === 0) return new Map();
  const rows = await ctx.em
    .getConnection()
    .execute<ContactRow[]>(
      `select id, email, suppression from contact where workspace_id = ? and id in ${UUIDS_OF()}`,
      [ctx.workspaceId, json(ids)],
    );
  return new Map(rows.map((row) => [row.id, row]));
}

async function liveEnrollments(
  em: EntityManager,
  sequenceId: string,
  contactIds: string[],
  tx?: EntityManager,
) {
  if (contactIds.length === 0) return new Map<string, string>();
  const statuses = LIVE_ENROLLMENT_STATUSES.map((s) => `'${s}'`).join(', ');
  const rows = await (tx ?? em).getConnection().execute<{ id: string; contact_id: string }[]>(
    `select id, contact_id from enrollment
         where sequence_id = ? and status in (${statuses}) and contact_id in ${UUIDS_OF()}`,
    [sequenceId, json(contactIds)],
    'all',
    tx?.getTransactionContext(),
  );
  return new Map(rows.map((row) => [row.contact_id, row.id]));
}

async function lastGenerations(em: EntityManager, sequenceId: string, contactIds: string[]) {
  if (contactIds.length === 0) return new Map<string, number>();
  const rows = await em.getConnection().execute<{ contact_id: string; generation: number }[]>(
    `select contact_id, max(generation) as generation from enrollment
       where sequence_id = ? and contact_id in ${UUIDS_OF()} group by contact_id`,
    [sequenceId, json(contactIds)],
  );
  return new Map(rows.map((row) => [row.contact_id, row.generation]));
}

interface EnrollmentRecord {
  id: string;
  contact_id: string;
  generation: number;
  workflow_id: string;
}

async function insertEnrollments(
  tx: EntityManager,
  ctx: ServiceContext,
  sequence: Sequence,
  records: EnrollmentRecord[],
  status: 'active' | 'ineligible',
  endReason: Map<string, string> | null,
): Promise<EnrollmentRecord[]> {
  const now = new Date().toISOString();
  const rows = records.map((r) => ({ ...r, end_reason: endReason?.get(r.contact_id) ?? null }));
  const inserted = await tx.getConnection().execute<EnrollmentRecord[]>(
    `insert into enrollment (id, workspace_id, sequence_id, contact_id, generation, status, workflow_id,
                             end_reason, ended_at, created_at, updated_at)
       select r.id, ?, ?, r.contact_id, r.generation, ?, r.workflow_id, r.end_reason,
              case when ? = 'ineligible' then ?::timestamptz end, ?::timestamptz, ?::timestamptz
         from jsonb_to_recordset(?::jsonb)
           as r(id uuid, contact_id uuid, generation int, workflow_id text, end_reason text)
     on conflict do nothing
     returning id, contact_id, generation, workflow_id`,
    [ctx.workspaceId, sequence.id, status, status, now, now, now, json(rows)],
    'all',
    tx.getTransactionContext(),
  );
  const events = inserted.map((r) => ({
    contact_id: r.contact_id,
    enrollment_id: r.id,
    data:
      status === 'active'
        ? { generation: r.generation, via: 'bulk' }
        : { reason: endReason?.get(r.contact_id), via: 'bulk' },
  }));
  if (events.length > 0) {
    await tx.getConnection().execute(
      `insert into event_log (workspace_id, sequence_id, contact_id, enrollment_id, type, data, created_at)
         select ?, ?, e.contact_id, e.enrollment_id, ?, e.data, ?::timestamptz
           from jsonb_to_recordset(?::jsonb) as e(contact_id uuid, enrollment_id uuid, data jsonb)`,
      [
        ctx.workspaceId,
        sequence.id,
        status === 'active' ? 'enrollment.started' : 'enrollment.ineligible',
        now,
        json(events),
      ],
      'all',
      tx.getTransactionContext(),
    );
  }
  return inserted;
}

const recordFor = (
  sequence: Sequence,
  candidate: Candidate,
  generations: Map<string, number>,
): EnrollmentRecord => ({
  id: randomUUID(),
  contact_id: candidate.contact.id,
  generation: (generations.get(candidate.contact.id) ?? 0) + 1,
  workflow_id: enrollmentWorkflowId(sequence.id, candidate.contact.id),
});

async function recordIneligible(
  ctx: ServiceContext,
  sequence: Sequence,
  suppressed: Candidate[],
  generations: Map<string, number>,
): Promise<Map<string, string>> {
  if (suppressed.length === 0) return new Map();
  const reasons = new Map(suppressed.map((c) => [c.contact.id, `contact_${c.contact.suppression}`]));
  const inserted = await ctx.em.fork().transactional((tx) =>
    insertEnrollments(
      tx,
      ctx,
      sequence,
      suppressed.map((c) => recordFor(sequence, c, generations)),
      'ineligible',
      reasons,
    ),
  );
  return new Map(inserted.map((r) => [r.contact_id, r.id]));
}

type ChunkResult =
  | { kind: 'enrolled'; enrollmentId: string }
  | { kind: 'already_active'; enrollmentId: string }
  | { kind: 'failed'; reason: string; detail: string; error: unknown };

/** One transaction: insert, lock, start the workflows, undo the rows whose start failed, commit. */
async function enrollChunk(
  ctx: ServiceContext,
  sequence: Sequence,
  chunk: Candidate[],
  generations: Map<string, number>,
  starts: LimitFunction,
): Promise<Map<string, ChunkResult>> {
  const outcome = new Map<string, ChunkResult>();
  const byContact = new Map(chunk.map((c) => [c.contact.id, c]));
  try {
    await ctx.em.fork().transactional(async (tx) => {
      outcome.clear();
      const records = chunk.map((c) => recordFor(sequence, c, generations));
      await holdEnrollmentStartLocks(
        tx,
        records.map((r) => r.id),
      );
      const inserted = await insertEnrollments(tx, ctx, sequence, records, 'active', null);
      const tagged = await addActiveTag(tx, sequence, inserted);

      const started = await Promise.allSettled(
        inserted.map((row) =>
          starts(() =>
            startEnrollmentWorkflow(ctx.temporal, {
              enrollmentId: row.id,
              workspaceId: ctx.workspaceId,
              generation: row.generation,
              sequence,
              contact: byContact.get(row.contact_id)!.contact,
            }),
          ),
        ),
      );
      const runIds: { id: string; run_id: string }[] = [];
      const failed: EnrollmentRecord[] = [];
      started.forEach((result, i) => {
        const row = inserted[i]!;
        if (result.status === 'fulfilled') {
          runIds.push({ id: row.id, run_id: result.value.firstExecutionRunId });
          outcome.set(row.contact_id, { kind: 'enrolled', enrollmentId: row.id });
        } else {
          failed.push(row);
          outcome.set(row.contact_id, {
            kind: 'failed',
            reason: 'workflow_start_failed',
            detail: `The workflow could not be started (${messageOf(result.reason)}); nothing was written for this contact.`,
            error: result.reason,
          });
        }
      });
      await undo(tx, sequence, failed, tagged);
      if (runIds.length > 0) {
        await tx
          .getConnection()
          .execute(
            `update enrollment set run_id = r.run_id from jsonb_to_recordset(?::jsonb) as r(id uuid, run_id text) where enrollment.id = r.id`,
            [json(runIds)],
            'all',
            tx.getTransactionContext(),
          );
      }

      // Rows not inserted lost a race (E10) to an enrollment made meanwhile: report the winner.
      const skipped = chunk.filter((c) => !inserted.some((row) => row.contact_id === c.contact.id));
      const winners = await liveEnrollments(
        tx,
        sequence.id,
        skipped.map((c) => c.contact.id),
        tx,
      );
      for (const candidate of skipped) {
        const winner = winners.get(candidate.contact.id);
        outcome.set(
          candidate.contact.id,
          winner
            ? { kind: 'already_active', enrollmentId: winner }
            : {
                kind: 'failed',
                reason: 'concurrent_change',
                detail: 'Another enrollment of this contact was recorded at the same moment; retry.',
                error: new Error('concurrent change'),
              },
        );
      }
      await assertStillEnrollable(tx, sequence.id);
    });
  } catch (error) {
    // The commit (or a statement) failed, or the sequence was paused or deleted meanwhile:
    // nothing of this chunk was written.
    const paused = error instanceof ProblemError && error.kind === 'sequence-paused';
    const deleted = error instanceof ProblemError && error.kind === 'not-found';
    for (const candidate of chunk) {
      outcome.set(candidate.contact.id, {
        kind: 'failed',
        reason: paused ? 'sequence_paused' : deleted ? 'sequence_deleted' : 'workflow_start_failed',
        detail:
          paused || deleted
            ? `The sequence was ${paused ? 'paused (S3)' : 'deleted'} while this request ran; nothing was written for this contact.`
            : `The enrollment could not be recorded (${messageOf(error)}); nothing was written for this contact.`,
        error,
      });
    }
  }
  return outcome;
}

/** E11: the sequence's active tag goes on while the contact is active in it. */
async function addActiveTag(tx: EntityManager, sequence: Sequence, inserted: EnrollmentRecord[]) {
  if (!sequence.activeTag || inserted.length === 0) return new Set<string>();
  const rows = await tx.getConnection().execute<{ id: string }[]>(
    `update contact set tags = array_append(tags, ?), updated_at = now()
       where id in ${UUIDS_OF()} and not (? = any(tags)) returning id`,
    [sequence.activeTag, json(inserted.map((r) => r.contact_id)), sequence.activeTag],
    'all',
    tx.getTransactionContext(),
  );
  return new Set(rows.map((r) => r.id));
}

/** Removes what was written for enrollments whose workflow did not start. */
async function undo(tx: EntityManager, sequence: Sequence, failed: EnrollmentRecord[], tagged: Set<string>) {
  if (failed.length === 0) return;
  const connection = tx.getConnection();
  const context = tx.getTransactionContext();
  const ids = json(failed.map((r) => r.id));
  await connection.execute(
    `delete from event_log where enrollment_id in ${UUIDS_OF()}`,
    [ids],
    'all',
    context,
  );
  await connection.execute(`delete from enrollment where id in ${UUIDS_OF()}`, [ids], 'all', context);
  const untag = failed.map((r) => r.contact_id).filter((id) => tagged.has(id));
  if (sequence.activeTag && untag.length > 0) {
    await connection.execute(
      `update contact set tags = array_remove(tags, ?) where id in ${UUIDS_OF()}`,
      [sequence.activeTag, json(untag)],
      'all',
      context,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : String(error);
}
