/**
 * S6 purge on a real Temporal dev server (the time-skipping server has no visibility
 * queries): `DELETE /sequences/{id}?purge=true` erases the sequence's rows in PostgreSQL and
 * its enrollments' workflow histories in Temporal, running or closed, and nothing else.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { enrollContact } from '../../api/services/enrollments.js';
import { pauseSequence, resumeSequence } from '../../api/services/sequence-changes.js';
import { restartEnrollment } from '../../api/services/re-enrollment.js';
import type { ServiceContext } from '../../api/context.js';
import { Contact, Enrollment } from '../../db/entities/index.js';
import { sequenceFanOutWorkflowId } from '../../workflows/ids.js';
import { useApiWorld } from '../support/use-world.js';
import { apiClient } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { eventually } from '../support/wait.js';

const sender = new RecordingSender();
const api = useApiWorld({ sender, server: 'dev' });

const ctx = (): ServiceContext => ({ ...api.world.ctx, em: api.world.ctx.em.fork() });
const sql = <T>(query: string, params: unknown[] = []) =>
  api.world.db.orm.em.fork().getConnection().execute<T[]>(query, params);
const count = async (query: string, params: unknown[]) =>
  Number((await sql<{ n: string }>(`select count(*) as n ${query}`, params))[0]!.n);

async function enroll(sequenceId: string, contactId: string) {
  const result = await enrollContact(ctx(), sequenceId, contactId);
  if (result.kind !== 'enrolled') throw new Error(`expected a new enrollment, got ${result.kind}`);
  return result.enrollment;
}

const sentTo = (email: string, n: number) =>
  eventually(async () => sender.sends.filter((send) => send.email.to === email).length >= n, {
    what: `${n} email(s) to ${email}`,
  });

/** Every run (all generations, open or closed) Temporal still lists for the sequence. */
async function listed(sequenceId: string) {
  const runs: { workflowId: string; status: string }[] = [];
  for await (const run of api.env.client.workflow.list({ query: `NudgeSequenceId = "${sequenceId}"` })) {
    runs.push({ workflowId: run.workflowId, status: run.status.name });
  }
  return runs;
}

async function describeOrGone(workflowId: string) {
  try {
    return (await api.env.client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'gone';
    throw error;
  }
}

test('S6 purge: every row and workflow history of the sequence is erased; another sequence of the same contact and the contact itself stay', async () => {
  const client = apiClient(api.app, api.world.apiKey);
  const purged = await api.world.publishedSequence({ name: 'Purged', activeTag: 'in-purged' });
  const kept = await api.world.publishedSequence({ name: 'Kept', activeTag: 'in-kept' });
  const ada = await api.world.contact({ email: `ada-${purged.id}@example.com` });
  const bob = await api.world.contact({ email: `bob-${purged.id}@example.com` });

  // Ada: a closed first generation and a running second one; Bob: running; Ada also in Kept.
  const adaFirst = await enroll(purged.id, ada.id);
  await sentTo(ada.email, 1);
  const adaSecond = await restartEnrollment(ctx(), adaFirst.id);
  const bobs = await enroll(purged.id, bob.id);
  const adaKept = await enroll(kept.id, ada.id);
  await sentTo(ada.email, 3); // welcome twice from Purged, once from Kept
  await sentTo(bob.email, 1);
  // A pause and a resume: audit events and fan-outs of the sequence.
  await pauseSequence(ctx(), purged.id);
  await resumeSequence(ctx(), purged.id);

  const ids = [adaFirst.id, adaSecond.enrollment.id, bobs.id];
  expect(await count('from delivery where sequence_id = ?', [purged.id])).toBe(3);
  expect(await count('from event_log where sequence_id = ?', [purged.id])).toBeGreaterThan(5);
  expect(await count('from sequence_version where sequence_id = ?', [purged.id])).toBe(1);
  await eventually(async () => (await listed(purged.id)).length === 3, { what: 'three runs listed' });

  const response = await client.delete(`/sequences/${purged.id}?purge=true`);

  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ sequenceId: purged.id, purged: true, enrollmentsEnded: 2 });
  // PostgreSQL: nothing of the sequence is left, the audit included.
  expect(await count('from sequence where id = ?', [purged.id])).toBe(0);
  expect(await count('from sequence_version where sequence_id = ?', [purged.id])).toBe(0);
  const ofPurged = (column: string) => `${column} = ? or enrollment_id in (?, ?, ?)`;
  expect(
    await count(`from enrollment where ${ofPurged('sequence_id').replace('enrollment_id', 'id')}`, [
      purged.id,
      ...ids,
    ]),
  ).toBe(0);
  expect(await count(`from delivery where ${ofPurged('sequence_id')}`, [purged.id, ...ids])).toBe(0);
  expect(await count(`from event_log where ${ofPurged('sequence_id')}`, [purged.id, ...ids])).toBe(0);
  expect((await client.get(`/sequences/${purged.id}`)).statusCode).toBe(404);
  expect((await client.get(`/enrollments/${bobs.id}`)).statusCode).toBe(404);

  // Temporal: the histories go, closed and running alike (running ones are terminated first).
  // The dev server erases a deleted run in the background, about half a minute later.
  let left: unknown[] = [];
  await eventually(async () => (left = await listed(purged.id)).length === 0, {
    timeoutMs: 150_000,
    what: 'no run of the purged sequence listed',
    detail: () => JSON.stringify(left),
  });
  for (const workflowId of [adaFirst.workflowId, bobs.workflowId]) {
    expect(await describeOrGone(workflowId)).toBe('gone');
  }

  // Untouched: Ada's enrollment in the other sequence, its workflow, and the contacts.
  const stillKept = await api.world.db.orm.em.fork().findOneOrFail(Enrollment, adaKept.id);
  expect(stillKept).toMatchObject({ status: 'active', currentStepId: 'follow-up' });
  expect(await describeOrGone(adaKept.workflowId)).toBe('RUNNING');
  expect((await listed(kept.id)).map((run) => run.workflowId)).toEqual([adaKept.workflowId]);
  expect(await count('from delivery where enrollment_id = ?', [adaKept.id])).toBe(1);
  const contacts = await api.world.db.orm.em.fork().find(Contact, { id: { $in: [ada.id, bob.id] } });
  expect(contacts).toHaveLength(2);
  const adaNow = contacts.find((c) => c.id === ada.id)!;
  expect(adaNow.tags).toEqual(['in-kept']); // the purged sequence's active tag came off
  expect(contacts.find((c) => c.id === bob.id)!.tags).toEqual([]);

  // The purge's fan-out asked for each of the three runs once, then erased the sequence's
  // earlier fan-outs (revisions: publish 1, pause 2, resume 3, purge 4).
  const purge = api.env.client.workflow.getHandle(sequenceFanOutWorkflowId(purged.id, 4));
  expect(await purge.result()).toEqual({ reached: 3, gone: 0 });
  for (const revision of [2, 3]) {
    await eventually(
      async () => (await describeOrGone(sequenceFanOutWorkflowId(purged.id, revision))) === 'gone',
      // Deleted in the background too, like the enrollments' runs above.
      { timeoutMs: 150_000, what: `the fan-out of revision ${revision} erased` },
    );
  }
  expect(await describeOrGone(sequenceFanOutWorkflowId(kept.id, 1))).toBe('gone'); // never existed: publish 1 fans out nothing
}, 300_000);
