/**
 * WORKER_ROLES: one deployment, its work split over three real worker processes: enrollment
 * workflows in one, sends in another, sequence fan-outs in a third. Emails go out only through
 * the sends process, and a sequence pause reaches every enrollment only through the fan-out
 * process, which is started after the pause request to show that nothing else carries it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pauseSequence } from '../../api/services/sequence-changes.js';
import { Delivery, Sequence } from '../../db/entities/index.js';
import { sequenceFanOutWorkflowId } from '../../workflows/ids.js';
import { stateQuery } from '../../workflows/messages.js';
import { startFakeResend, type FakeResend } from '../fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDrill, type Drill } from '../support/drill.js';
import { startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const CONTACTS = 5;

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let fake: FakeResend;
let env: Record<string, string>;
const workers: NudgeProcess[] = [];
let drill: Drill;

function startWorker(roles: string): NudgeProcess {
  // Each process on this host serves /metrics on a port of its own (0: any free one).
  const worker = startProcess('worker/main.ts', { ...env, WORKER_ROLES: roles, METRICS_PORT: '0' });
  workers.push(worker);
  return worker;
}

const output = () => workers.map((worker) => worker.output()).join('\n');

/** The Temporal identity a worker process polls with by default: `pid@hostname`. */
const identityOf = (worker: NudgeProcess) => `${worker.child.pid}@${hostname()}`;

/** Which worker identities ran a workflow's tasks, and each of its activities. */
async function whoRan(
  workflowId: string,
): Promise<{ workflowTasks: string[]; activities: Record<string, string[]> }> {
  const events = (await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const activityTypes = new Map<string, string>();
  const workflowTasks = new Set<string>();
  const activities: Record<string, Set<string>> = {};
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) activityTypes.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = activityTypes.get(String(started.scheduledEventId)) ?? '?';
      (activities[type] ??= new Set()).add(started.identity ?? '');
    }
    const task = event.workflowTaskStartedEventAttributes;
    if (task) workflowTasks.add(task.identity ?? '');
  }
  return {
    workflowTasks: [...workflowTasks],
    activities: Object.fromEntries(Object.entries(activities).map(([type, ids]) => [type, [...ids]])),
  };
}

beforeAll(async () => {
  [temporal, db, fake] = await Promise.all([
    startDevServer(),
    createTestDatabase(),
    startFakeResend({ apiKey: 're_roles_key' }),
  ]);
  const taskQueue = `roles-${randomUUID()}`;
  env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESEND_API_KEY: 're_roles_key',
    RESEND_BASE_URL: fake.url,
    EMAIL_FROM: 'Nudge <hello@nudge.test>',
    SEND_RATE_PER_SECOND: '0',
    LOG_LEVEL: 'info',
  };
  drill = await startDrill(db, temporal.client, taskQueue);
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all([fake?.close(), db?.drop(), temporal?.teardown()]);
});

test('WORKER_ROLES: enrollments, sends and fan-outs each in its own process send every email once and pause a sequence', async () => {
  const enrollmentsWorker = startWorker('enrollments');
  const sendsWorker = startWorker('sends');
  const sequenceId = await drill.sequence([
    { id: 'hello', name: 'Hello', delay: 'PT0S', subject: 'Hello', html: '<p>Hi</p>' },
    { id: 'later', name: 'Later', delay: 'P1D', subject: 'Later', html: '<p>Later</p>' },
  ]);
  const enrollments = await drill.enrollMany(sequenceId, CONTACTS, 'roles');

  const sent = () => db.orm.em.fork().count(Delivery, { sequence: sequenceId, status: 'sent' });
  await eventually(async () => (await sent()) === CONTACTS, {
    timeoutMs: 60_000,
    what: `${CONTACTS} first steps sent by the sends process`,
    detail: output,
  });
  expect(fake.stats().deliveries).toBe(CONTACTS);
  expect(fake.stats().duplicates.idempotencyKeys).toBe(0);

  // The pause is recorded and its fan-out started, but no process polls the fan-out queue yet.
  await pauseSequence(drill.ctx(), sequenceId);
  const fanOutWorker = startWorker('fanout');
  const states = () =>
    Promise.all(
      enrollments.map((enrollment) =>
        temporal.client.workflow.getHandle(enrollment.workflowId).query(stateQuery),
      ),
    );
  await eventually(
    async () =>
      (await states()).every((state) => state.status === 'paused' && state.heldBy.includes('sequence')),
    { timeoutMs: 60_000, what: 'every enrollment paused by the fan-out process', detail: output },
  );
  expect(await sent()).toBe(CONTACTS);

  // Every task ran where its role lives: workflow tasks and bookkeeping in the enrollments
  // process, sendStep in the sends process, the fan-out workflow and its signals in the third.
  for (const enrollment of enrollments) {
    const ran = await whoRan(enrollment.workflowId);
    expect(ran.workflowTasks).toEqual([identityOf(enrollmentsWorker)]);
    expect(ran.activities.sendStep).toEqual([identityOf(sendsWorker)]);
  }
  const { revision } = await db.orm.em.fork().findOneOrFail(Sequence, sequenceId);
  const fanOut = await whoRan(sequenceFanOutWorkflowId(sequenceId, revision));
  expect(fanOut.workflowTasks).toEqual([identityOf(fanOutWorker)]);
  expect(Object.values(fanOut.activities).flat()).toEqual([identityOf(fanOutWorker)]);

  // Each process says which roles it took on when it starts.
  for (const [worker, roles] of [
    [enrollmentsWorker, ['enrollments']],
    [sendsWorker, ['sends']],
    [fanOutWorker, ['fanout']],
  ] as const) {
    expect(worker.output()).toContain(`"roles":${JSON.stringify(roles)}`);
  }
}, 240_000);
