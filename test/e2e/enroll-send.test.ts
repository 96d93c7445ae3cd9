/**
 * End to end: the real worker and API processes against a real Temporal dev server and
 * PostgreSQL, with the `resend` SDK pointed at a local fake of Resend's HTTP API.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { startFakeResend, type FakeResend } from '../fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let fake: FakeResend;
let worker: NudgeProcess;
let api: NudgeProcess;
let baseUrl: string;
let apiKey: string;

beforeAll(async () => {
  [temporal, db, fake] = await Promise.all([
    startDevServer(),
    createTestDatabase(),
    startFakeResend({ apiKey: 're_e2e_key' }),
  ]);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `e2e-${randomUUID()}`,
    PORT: String(port),
    RESEND_API_KEY: 're_e2e_key',
    RESEND_BASE_URL: fake.url,
    EMAIL_FROM: 'Nudge <hello@nudge.test>',
  };
  worker = startProcess('worker/main.ts', env);
  api = startProcess('api/main.ts', env);
  apiKey = (await createWorkspaceWithKey(db.orm.em.fork(), 'e2e')).apiKey.key;
  await eventually(async () => (await fetch(`${baseUrl}/healthz`)).ok, {
    timeoutMs: 60_000,
    what: 'the API',
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), api?.stop()]);
  await Promise.all([fake?.close(), db?.drop(), temporal?.teardown()]);
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

test('enrolling a contact sends its first email through Resend with the right recipient, subject and Idempotency-Key', async () => {
  const contact = await call('POST', '/contacts', { email: 'ada@example.com', name: 'Ada Lovelace' });
  expect(contact.status).toBe(201);
  const sequence = await call('POST', '/sequences', {
    name: 'Onboarding',
    steps: [
      {
        id: 'welcome',
        name: 'Welcome',
        delay: 'PT0S',
        subject: 'Welcome, {{ contact.first_name }}!',
        html: '<p>Hello</p>',
      },
      { id: 'tips', name: 'Tips', delay: 'P2D', subject: 'Three tips', html: '<p>Tips</p>' },
    ],
  });
  expect(sequence.status).toBe(201);
  expect((await call('POST', `/sequences/${sequence.body.id}/publish`)).status).toBe(200);

  const enrollment = await call('POST', `/sequences/${sequence.body.id}/enrollments`, {
    contactId: contact.body.id,
  });
  expect(enrollment.status).toBe(201);

  const [email] = await eventually(async () => (fake.deliveries().length > 0 ? fake.deliveries() : null), {
    timeoutMs: 60_000,
    what: `the first email (worker output: ${worker.output().slice(-2000)})`,
  });
  expect(email!.to).toEqual(['ada@example.com']);
  expect(email!.from).toBe('Nudge <hello@nudge.test>');
  expect(email!.subject).toBe('Welcome, Ada!');
  expect(email!.idempotencyKey).toBe(`nudge/${enrollment.body.id}/1/welcome/first`);

  // The enrollment and its deliveries are read by two queries; wait until both show the send.
  const read = await eventually(async () => {
    const r = await call('GET', `/enrollments/${enrollment.body.id}`);
    return r.body.deliveries?.[0]?.status === 'sent' && r.body.currentStepId === 'tips' ? r : null;
  });
  expect(read.body.deliveries[0].providerMessageId).toBe(email!.id);
  expect(read.body).toMatchObject({ status: 'active', currentStepId: 'tips' });
  expect(fake.deliveries()).toHaveLength(1); // the second step is two days away
}, 120_000);
