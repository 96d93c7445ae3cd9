/**
 * Bulk enrollment (issue 5) through the API, against a real PostgreSQL and the time-skipping
 * Temporal server with a real worker: one result per item, E1/E2/E10/E12 at scale, and
 * nothing half-written when workflow starts fail.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { buildApp, type AppDeps } from '../../api/app.js';
import { startEnrollmentWorkflow } from '../../api/services/enrollment-workflows.js';
import { Contact, Enrollment, EventLog } from '../../db/entities/index.js';
import { holdEnrollmentStartLocks } from '../../db/enrollment-start-lock.js';
import { insertEnrollmentRow } from '../support/enrollment-row.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

let env: TestWorkflowEnvironment;
let world: World;
let app: App;
const sender = new RecordingSender();
const apps: App[] = [];

async function makeApp(overrides: Partial<AppDeps> = {}): Promise<App> {
  const built = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
    // Small chunks, so a few hundred contacts already cross chunk boundaries.
    bulkTuning: { chunkSize: 50, chunkConcurrency: 3, startConcurrency: 16 },
    ...overrides,
  });
  apps.push(built);
  return built;
}

beforeAll(async () => {
  env = await startTimeSkippingServer();
  world = await startWorld(env, sender);
  app = await makeApp();
}, 120_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await world?.close();
  await env?.teardown();
});

const em = () => world.db.orm.em.fork();
const bulkUrl = (sequenceId: string) => `/sequences/${sequenceId}/enrollments/bulk`;
const emails = (n: number, tag = randomUUID().slice(0, 6)) =>
  Array.from({ length: n }, (_, i) => `bulk-${tag}-${i}@example.com`);

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

test('E1/E2/E12: one result per item, in order: enrolled, already active, ineligible with reason, invalid with field', async () => {
  const { ctx, apiKey } = await world.workspace();
  const client = apiClient(app, apiKey);
  const sequence = await world.publishedSequence({ activeTag: 'in-onboarding' }, ctx);
  const existing = await world.contact(
    { name: 'Old Name', attributes: { plan: 'free', seats: 1 }, tags: ['lead'] },
    ctx,
  );
  const active = await world.contact({}, ctx);
  await client.post(`/sequences/${sequence.id}/enrollments`, { contactId: active.id });
  const unsubscribed = await world.contact({}, ctx);
  await em().nativeUpdate(
    Contact,
    { id: unsubscribed.id },
    { suppression: 'unsubscribed', suppressedAt: new Date() },
  );
  const other = await world.workspace();
  const foreign = await world.contact({}, other.ctx);
  const fresh = `Fresh-${randomUUID().slice(0, 6)}@Example.com`;

  const response = await client.post(bulkUrl(sequence.id), {
    contacts: [
      { email: fresh, name: 'Fresh', timeZone: 'Europe/Paris', tags: ['trial'] },
      { email: existing.email, name: 'New Name', attributes: { plan: 'pro' }, tags: ['customer'] },
      { contactId: active.id },
      { contactId: unsubscribed.id },
      { contactId: foreign.id },
      { email: 'not-an-email' },
      'just a string',
      { email: fresh.toUpperCase() },
      { email: `x-${randomUUID()}@example.com`, colour: 'blue' },
      { email: `y-${randomUUID()}@example.com`, timeZone: 'Mars/Olympus' },
      { email: `z-${randomUUID()}@example.com`, tags: ['ok', 'n\u0000l'] },
    ],
  });
  expect(response.statusCode).toBe(200);
  const { results, summary } = response.json();
  expect(results.map((r: any) => [r.index, r.status, r.reason, r.field])).toEqual([
    [0, 'enrolled', null, null],
    [1, 'enrolled', null, null],
    [2, 'already_active', null, null],
    [3, 'ineligible', 'contact_unsubscribed', null],
    [4, 'invalid', 'contact_not_found', '/body/contacts/4/contactId'],
    [5, 'invalid', 'validation', '/body/contacts/5/email'],
    [6, 'invalid', 'validation', '/body/contacts/6'],
    [7, 'invalid', 'duplicate', '/body/contacts/7/email'],
    [8, 'invalid', 'validation', '/body/contacts/8/colour'],
    [9, 'invalid', 'validation', '/body/contacts/9/timeZone'],
    [10, 'invalid', 'validation', '/body/contacts/10/tags/1'],
  ]);
  expect(summary).toEqual({ enrolled: 2, alreadyActive: 1, ineligible: 1, invalid: 7, failed: 0 });
  expect(results[0].contactCreated).toBe(true);
  expect(results[1].contactCreated).toBe(false);
  expect(results[2].enrollmentId).toBe((await em().findOneOrFail(Enrollment, { contact: active.id })).id);

  // By email: created, or updated (fields replaced, attributes merged, tags added).
  const created = await em().findOneOrFail(Contact, results[0].contactId);
  expect(created).toMatchObject({ email: fresh.toLowerCase(), name: 'Fresh', timeZone: 'Europe/Paris' });
  expect(created.tags).toEqual(['trial', 'in-onboarding']);
  const updated = await em().findOneOrFail(Contact, existing.id);
  expect(updated).toMatchObject({ name: 'New Name', attributes: { plan: 'pro', seats: 1 } });
  expect(updated.tags).toEqual(['lead', 'customer', 'in-onboarding']);

  // E12: recorded as an ineligible enrollment; nothing was started for it.
  const ineligible = await em().findOneOrFail(Enrollment, results[3].enrollmentId);
  expect(ineligible).toMatchObject({ status: 'ineligible', endReason: 'contact_unsubscribed' });
  expect(await em().count(Enrollment, { contact: foreign.id })).toBe(0);

  // E1: the enrolled ones really run: their welcome email goes out.
  await eventually(async () => sender.sends.filter((s) => s.email.to === fresh.toLowerCase()).length === 1, {
    what: 'the welcome email of a bulk-enrolled contact',
  });
  const events = await em().find(EventLog, {
    enrollment: results[1].enrollmentId,
    type: 'enrollment.started',
  });
  expect(events).toHaveLength(1);
}, 60_000);

test('E1: hundreds of contacts across many chunks are each enrolled exactly once, each with its workflow', async () => {
  const { ctx, apiKey } = await world.workspace();
  const sequence = await world.publishedSequence({}, ctx);
  const list = emails(420);
  const response = await apiClient(app, apiKey).post(bulkUrl(sequence.id), {
    contacts: list.map((email) => ({ email })),
  });
  expect(response.statusCode).toBe(200);
  const { results, summary } = response.json();
  expect(summary).toEqual({ enrolled: 420, alreadyActive: 0, ineligible: 0, invalid: 0, failed: 0 });
  expect(results.map((r: any) => r.index)).toEqual(list.map((_, i) => i));
  const rows = await em().find(Enrollment, { sequence: sequence.id });
  expect(rows).toHaveLength(420);
  expect(new Set(rows.map((r) => r.contact)).size).toBe(420);
  expect(rows.every((r) => r.status === 'active' && r.generation === 1 && r.runId)).toBe(true);
  for (const row of [rows[0]!, rows[210]!, rows[419]!])
    expect(await workflowExists(row.workflowId)).toBe(true);
}, 60_000);

test('E2/E10: two identical bulk requests at once enroll each contact once; the other answer says already active', async () => {
  const { ctx, apiKey } = await world.workspace();
  const client = apiClient(app, apiKey);
  const sequence = await world.publishedSequence({}, ctx);
  const body = { contacts: emails(150).map((email) => ({ email })) };
  const [a, b] = await Promise.all([
    client.post(bulkUrl(sequence.id), body),
    client.post(bulkUrl(sequence.id), body),
  ]);
  expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
  const ra = a.json().results;
  const rb = b.json().results;
  for (let i = 0; i < 150; i++) {
    expect([ra[i].status, rb[i].status].sort()).toEqual(['already_active', 'enrolled']);
    expect(ra[i].enrollmentId).toBe(rb[i].enrollmentId);
  }
  expect(await em().count(Enrollment, { sequence: sequence.id })).toBe(150);
}, 60_000);

test('nothing half-written: contacts whose workflow fails to start are reported failed with no row, event or tag left', async () => {
  const { ctx, apiKey } = await world.workspace();
  const sequence = await world.publishedSequence({ activeTag: 'in-seq' }, ctx);
  let calls = 0;
  const flaky = new Proxy(env.client, {
    get(target, property, receiver) {
      if (property !== 'workflow') return Reflect.get(target, property, receiver);
      return new Proxy(target.workflow, {
        get(workflow, name, r) {
          if (name !== 'start') return Reflect.get(workflow, name, r);
          return (...args: Parameters<typeof workflow.start>) => {
            calls++;
            if (calls % 3 === 0) {
              return Promise.reject(Object.assign(new Error('14 UNAVAILABLE: injected'), { code: 14 }));
            }
            return workflow.start(...args);
          };
        },
      });
    },
  });
  const flakyApp = await makeApp({ temporal: { client: flaky, taskQueue: world.taskQueue } });
  const body = { contacts: emails(60).map((email) => ({ email })) };
  const key = randomUUID();
  const response = await apiClient(flakyApp, apiKey).post(bulkUrl(sequence.id), body, {
    'idempotency-key': key,
  });
  expect(response.statusCode).toBe(200);
  const { results, summary } = response.json();
  expect(summary.failed).toBe(20);
  expect(summary.enrolled).toBe(40);
  const failed = results.filter((r: any) => r.status === 'failed');
  expect(failed.every((r: any) => r.reason === 'workflow_start_failed' && r.enrollmentId === null)).toBe(
    true,
  );
  const failedContacts = failed.map((r: any) => r.contactId);
  expect(await em().count(Enrollment, { contact: { $in: failedContacts } })).toBe(0);
  expect(await em().count(EventLog, { contact: { $in: failedContacts }, type: 'enrollment.started' })).toBe(
    0,
  );
  const untagged = await em().find(Contact, { id: { $in: failedContacts } });
  expect(untagged.every((c) => !c.tags.includes('in-seq'))).toBe(true);

  // Not stored under the key: retrying with it enrolls the failed ones; the others are already active.
  const retried = await apiClient(app, apiKey).post(bulkUrl(sequence.id), body, { 'idempotency-key': key });
  expect(retried.headers['idempotent-replayed']).toBeUndefined();
  expect(retried.json().summary).toEqual({
    enrolled: 20,
    alreadyActive: 40,
    ineligible: 0,
    invalid: 0,
    failed: 0,
  });
  expect(await em().count(Enrollment, { sequence: sequence.id })).toBe(60);
}, 60_000);

test('when Temporal is unreachable nothing is enrolled and the answer is a 503 to retry', async () => {
  const { ctx, apiKey } = await world.workspace();
  const sequence = await world.publishedSequence({}, ctx);
  const down = await makeApp({
    temporal: {
      client: {
        workflow: { start: () => Promise.reject(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })) },
      } as never,
      taskQueue: world.taskQueue,
    },
  });
  const response = await apiClient(down, apiKey).post(bulkUrl(sequence.id), {
    contacts: emails(30).map((email) => ({ email })),
  });
  expectProblem(response, 503);
  expect(await em().count(Enrollment, { sequence: sequence.id })).toBe(0);
}, 60_000);

test('the whole request is refused for a draft (409), paused (409) or unknown sequence (404)', async () => {
  const { ctx, apiKey } = await world.workspace();
  const client = apiClient(app, apiKey);
  const contact = await world.contact({}, ctx);
  const draft = (await client.post('/sequences', { name: 'Draft', steps: [] })).json();
  expectProblem(
    await client.post(bulkUrl(draft.id), { contacts: [{ contactId: contact.id }] }),
    409,
    '/params/sequenceId',
  );
  const paused = await world.publishedSequence({}, ctx);
  await world.db.orm.em
    .fork()
    .getConnection()
    .execute(`update sequence set status = 'paused' where id = ?`, [paused.id]);
  expectProblem(await client.post(bulkUrl(paused.id), { contacts: [{ contactId: contact.id }] }), 409);
  // S3: the attempt is recorded, not queued.
  expect(await em().count(EventLog, { sequence: paused.id, type: 'enrollment.refused' })).toBe(1);
  const other = await world.workspace();
  const foreign = await world.publishedSequence({}, other.ctx);
  expectProblem(await client.post(bulkUrl(foreign.id), { contacts: [{ contactId: contact.id }] }), 404);
  expect(await em().count(Enrollment, { contact: contact.id })).toBe(0);
}, 60_000);

test('up to 10,000 items are accepted; more, none, or no list is a 400 naming /body/contacts', async () => {
  const { ctx, apiKey } = await world.workspace();
  const client = apiClient(app, apiKey);
  const sequence = await world.publishedSequence({}, ctx);
  const tenThousand = Array.from({ length: 10_000 }, () => ({ email: 'nope' }));
  const accepted = await client.post(bulkUrl(sequence.id), { contacts: tenThousand });
  expect(accepted.statusCode).toBe(200);
  expect(accepted.json().summary.invalid).toBe(10_000);
  expectProblem(
    await client.post(bulkUrl(sequence.id), { contacts: [...tenThousand, { email: 'x' }] }),
    400,
    '/body/contacts',
  );
  expectProblem(await client.post(bulkUrl(sequence.id), { contacts: [] }), 400, '/body/contacts');
  expectProblem(
    await client.post(bulkUrl(sequence.id), { contacts: { email: 'a@example.com' } }),
    400,
    '/body/contacts',
  );
  expectProblem(await client.post(bulkUrl(sequence.id), { people: [] }), 400);
}, 60_000);

describe('the start lock: a workflow never reads its enrollment before the transaction that inserted it ends', () => {
  async function insertAndStart(ctxWorkspace: Awaited<ReturnType<World['workspace']>>, commit: boolean) {
    const sequence = await world.publishedSequence({}, ctxWorkspace.ctx);
    const contact = await world.contact({}, ctxWorkspace.ctx);
    let workflowId = '';
    const attempt = em().transactional(async (tx) => {
      const enrollment = await insertEnrollmentRow(tx, {
        workspace: ctxWorkspace.ctx.workspaceId,
        sequence: sequence.id,
        contact: contact.id,
      });
      await holdEnrollmentStartLocks(tx, [enrollment.id]);
      const handle = await startEnrollmentWorkflow(ctxWorkspace.ctx.temporal, {
        enrollmentId: enrollment.id,
        workspaceId: ctxWorkspace.ctx.workspaceId,
        generation: 1,
        sequence,
        contact,
      });
      workflowId = handle.workflowId;
      // Give the worker every chance to run the workflow's first activity before the commit.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      if (!commit) throw new Error('roll back');
    });
    if (commit) await attempt;
    else await expect(attempt).rejects.toThrow('roll back');
    return { contact, handle: env.client.workflow.getHandle(workflowId) };
  }

  test('committed: the workflow waits for the commit and proceeds (its welcome email goes out)', async () => {
    const { contact } = await insertAndStart(await world.workspace(), true);
    await eventually(async () => sender.sends.some((s) => s.email.to === contact.email), {
      what: 'the welcome email',
    });
  }, 60_000);

  test('rolled back: the workflow finds no row and ends itself without sending', async () => {
    const { contact, handle } = await insertAndStart(await world.workspace(), false);
    expect(await handle.result()).toMatchObject({ status: 'cancelled', reason: 'record_missing' });
    expect(sender.sends.some((s) => s.email.to === contact.email)).toBe(false);
  }, 60_000);
});
