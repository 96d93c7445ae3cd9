/**
 * D5: the provider's rate limit holds across workers. Two real worker processes share the
 * send task queue whose rate the Temporal server enforces; the Resend fake, in its own process
 * as a real provider would be, enforces a limit above it and answers 429 to anything faster.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Delivery } from '../../db/entities/index.js';
import { pauseSequence, resumeSequence, updateSequence } from '../../api/services/sequence-changes.js';
import { publishSequence } from '../../api/services/sequences.js';
import { spawnFakeResend, type SpawnedFakeResend } from '../fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDrill, type Drill } from '../support/drill.js';
import { startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const SEND_RATE = 5;
// The pacer lets at most `rate` calls leave in any 1,040 ms, counted by when they actually left,
// so a strict provider at one more request a second than the rate never refuses one, however
// the work is spread over workers.
const PROVIDER_LIMIT = SEND_RATE + 1;
const CONTACTS = 40;

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let fake: SpawnedFakeResend;
let workers: NudgeProcess[] = [];
let drill: Drill;

beforeAll(async () => {
  [temporal, db, fake] = await Promise.all([
    startDevServer(),
    createTestDatabase(),
    spawnFakeResend({ apiKey: 're_rate_key', rateLimitPerSecond: PROVIDER_LIMIT }),
  ]);
  const taskQueue = `rate-${randomUUID()}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESEND_API_KEY: 're_rate_key',
    RESEND_BASE_URL: fake.url,
    EMAIL_FROM: 'Nudge <hello@nudge.test>',
    SEND_RATE_PER_SECOND: String(SEND_RATE),
    SEND_CONCURRENCY: '20',
  };
  workers = [startProcess('worker/main.ts', env), startProcess('worker/main.ts', env)];
  drill = await startDrill(db, temporal.client, taskQueue);
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all([fake?.stop(), db?.drop(), temporal?.teardown()]);
});

test('D5: sends from two workers together stay under the provider rate limit: no 429, each email once', async () => {
  const sequenceId = await drill.sequence([
    {
      id: 'hello',
      name: 'Hello',
      delay: 'PT0S',
      subject: 'Hello {{ contact.first_name }}',
      html: '<p>Hi</p>',
    },
  ]);
  await drill.enrollMany(sequenceId, CONTACTS);

  await eventually(
    async () =>
      (await db.orm.em.fork().count(Delivery, { sequence: sequenceId, status: 'sent' })) === CONTACTS,
    {
      timeoutMs: 40_000,
      what: `${CONTACTS} sends`,
      detail: async () =>
        `${workers.map((worker) => worker.output()).join('\n')}\n${JSON.stringify(await fake.stats())}`,
    },
  );
  const stats = await fake.stats();
  expect(stats.byStatus['429'] ?? 0).toBe(0);
  expect(stats.deliveries).toBe(CONTACTS);
  expect(stats.duplicates.idempotencyKeys).toBe(0);

  // Not an assertion (timing belongs in bench/): how the sends spread over time.
  const times = (await fake.deliveries()).map((email) => email.receivedAt);
  const spanSeconds = (Math.max(...times) - Math.min(...times)) / 1000;
  console.info(
    `D5 drill: ${CONTACTS} sends in ${spanSeconds.toFixed(1)} s at a limit of ${SEND_RATE}/s ` +
      `(${((CONTACTS - 1) / spanSeconds).toFixed(2)}/s observed)`,
  );
}, 180_000);

test('S4: a resumed sequence drains its overdue steps at the provider rate, never as a flood: no 429, each email once', async () => {
  const step = {
    id: 'news',
    name: 'News',
    subject: 'News for {{ contact.first_name }}',
    html: '<p>News</p>',
  };
  const sequenceId = await drill.sequence([{ ...step, delay: 'PT1H' }], 'Drain');
  await drill.enrollMany(sequenceId, CONTACTS, 'drain');
  await pauseSequence(drill.ctx(), sequenceId);
  // While paused, the step is made due at enrollment (S5): every contact is now overdue, held.
  await updateSequence(drill.ctx(), sequenceId, { steps: [{ ...step, delay: 'PT0S' }] });
  await publishSequence(drill.ctx(), sequenceId);
  const sent = () => db.orm.em.fork().count(Delivery, { sequence: sequenceId, status: 'sent' });
  expect(await sent()).toBe(0);

  const before = await fake.stats();
  await resumeSequence(drill.ctx(), sequenceId);
  await eventually(async () => (await sent()) === CONTACTS, {
    timeoutMs: 60_000,
    what: `${CONTACTS} overdue sends after the resume`,
    detail: async () => JSON.stringify(await fake.stats()),
  });
  const after = await fake.stats();
  expect(after.byStatus['429'] ?? 0).toBe(before.byStatus['429'] ?? 0); // the provider never pushed back
  expect(after.deliveries - before.deliveries).toBe(CONTACTS);
  expect(after.duplicates.idempotencyKeys).toBe(0);
}, 180_000);
