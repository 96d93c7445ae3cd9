/**
 * D1 under fire: 200 enrollments × 3 steps while the real worker process is killed with
 * SIGKILL and restarted several times mid-run, and the Resend fake injects 5xx (some after
 * it has delivered), 429 with retry-after, dropped connections and hung requests. At the end
 * every (enrollment, step) was delivered exactly once, and the ledger agrees with the fake.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deliveryIdempotencyKey } from '../../activities/send.js';
import { Delivery, Enrollment } from '../../db/entities/index.js';
import { startFakeResend, type FakeResend } from '../fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDrill, type Drill } from '../support/drill.js';
import { startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const ENROLLMENTS = 200;
const STEPS = ['welcome', 'nudge', 'last'] as const;
const SENDS = ENROLLMENTS * STEPS.length;
/** Kill the worker when the fake has delivered this many emails: early, throughout, and late. */
const KILL_AT = [40, 150, 280, 400, 520];

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let fake: FakeResend;
let drill: Drill;
let env: Record<string, string>;
const workers: NudgeProcess[] = [];
const currentWorker = () => workers[workers.length - 1]!;
const workerOutput = () =>
  workers.map((worker, i) => `--- worker ${i}\n${worker.output().slice(-1500)}`).join('\n');

beforeAll(async () => {
  [temporal, db, fake] = await Promise.all([
    startDevServer(),
    createTestDatabase(),
    // A little latency widens the window in which a kill lands during a provider call.
    startFakeResend({ apiKey: 're_drill', latencyMs: 15, recordRequests: false }),
  ]);
  const taskQueue = `drill-${randomUUID()}`;
  env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESEND_API_KEY: 're_drill',
    RESEND_BASE_URL: fake.url,
    EMAIL_FROM: 'Nudge Drill <drill@nudge.test>',
    SEND_RATE_PER_SECOND: '0',
    SEND_CONCURRENCY: '20',
  };
  drill = await startDrill(db, temporal.client, taskQueue);
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  await Promise.all([fake?.close(), db?.drop(), temporal?.teardown()]);
});

test('D1: every (enrollment, step) is delivered exactly once across SIGKILLed workers and provider faults', async () => {
  fake.failRandomly(
    0.15,
    [
      { status: 500 },
      { status: 503, afterDelivery: true }, // delivered, then the answer is lost
      { status: 429, retryAfterSeconds: 1 },
      { dropConnection: true },
      { dropConnection: true, afterDelivery: true },
      { timeoutMs: 1_500 },
    ],
    20261125,
  );
  const sequenceId = await drill.sequence(
    STEPS.map((id, index) => ({
      id,
      name: id,
      delay: index === 0 ? 'PT0S' : 'PT4S',
      subject: `${id} for {{ contact.email }}`,
      html: `<p>${id}</p>`,
    })),
  );
  workers.push(startProcess('worker/main.ts', env));
  const enrollments = await drill.enrollMany(sequenceId, ENROLLMENTS);

  // Kill the worker mid-run at each threshold and start a new one straight away.
  let kills = 0;
  for (const threshold of KILL_AT) {
    await eventually(async () => fake.stats().deliveries >= threshold, {
      timeoutMs: 180_000,
      what: `${threshold} deliveries`,
      detail: workerOutput,
    });
    if (fake.stats().deliveries >= SENDS) break;
    await currentWorker().stop('SIGKILL');
    kills += 1;
    workers.push(startProcess('worker/main.ts', env));
  }
  expect(kills).toBeGreaterThanOrEqual(4);

  const ids = enrollments.map((enrollment) => enrollment.id);
  await eventually(
    async () =>
      (await db.orm.em.fork().count(Enrollment, { id: { $in: ids }, status: 'completed' })) === ENROLLMENTS,
    {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'every enrollment to complete',
      detail: () => `${JSON.stringify(fake.stats())}\n${workerOutput()}`,
    },
  );

  // The provider's view: one delivery per (enrollment, step), whatever was retried.
  const byKey = fake.countByIdempotencyKey();
  const expectedKeys = enrollments.flatMap((enrollment) =>
    STEPS.map((stepId) =>
      deliveryIdempotencyKey({ enrollmentId: enrollment.id, generation: 1, stepId, kind: 'first' }),
    ),
  );
  expect(Object.keys(byKey).sort()).toEqual([...expectedKeys].sort());
  const duplicated = Object.entries(byKey).filter(([, count]) => count.deliveries !== 1);
  expect(duplicated).toEqual([]);
  const stats = fake.stats();
  expect(stats.deliveries).toBe(SENDS);
  expect(stats.duplicates).toMatchObject({ idempotencyKeys: 0, recipientSubject: 0 });
  expect(stats.faultsInjected).toBeGreaterThan(0);
  expect(stats.replays).toBeGreaterThan(0); // retries of sends the provider had already taken

  // The ledger's view agrees: every row sent, with the id of the one email the provider holds.
  const rows = await db.orm.em.fork().find(Delivery, { enrollment: { $in: ids } });
  expect(rows).toHaveLength(SENDS);
  const emailIdByKey = new Map(fake.deliveries().map((email) => [email.idempotencyKey, email.id]));
  const mismatched = rows.filter(
    (row) => row.status !== 'sent' || row.providerMessageId !== emailIdByKey.get(row.idempotencyKey),
  );
  expect(mismatched.map((row) => [row.idempotencyKey, row.status, row.providerMessageId])).toEqual([]);

  console.info(
    `crash drill: ${SENDS} sends, ${kills} SIGKILLs, ${stats.faultsInjected} injected faults, ` +
      `${stats.sendRequests} send requests, ${stats.replays} answered from the idempotency store`,
  );
}, 600_000);
