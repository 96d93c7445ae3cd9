/**
 * Fault drill: 500 enrollments × 3 steps while the worker is killed (SIGKILL) five times,
 * PostgreSQL is restarted once and the Temporal dev server (file-backed) is restarted once,
 * with the provider failing 5% of requests. Invariants (exit 1 when broken): every
 * (enrollment, step) delivered exactly once, none lost. Reported: time to recover after
 * each fault, measured as the time until a fresh probe enrollment's email reaches the
 * provider.
 */
import { Enrollment } from '../db/entities/index.js';
import type { NudgeProcess } from '../test/support/processes.js';
import { eventually } from '../test/support/wait.js';
import { startPrivatePostgres } from './support/private-postgres.js';
import { fmt, writeResults, type Figure } from './support/results.js';
import { seedContacts } from './support/seed.js';
import { apiClient, mapConcurrent, startStack } from './support/stack.js';

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 500);
const STEP_GAP = process.env.BENCH_STEP_GAP ?? 'PT40S';

const postgres = await startPrivatePostgres();
process.env.DATABASE_URL = postgres.url;
const stack = await startStack({ persistentTemporal: true });
let failed: boolean;
try {
  let worker: NudgeProcess = stack.startWorker();
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);
  /** API calls during a fault may fail; a client retries them, so does the drill. */
  const callWithRetry = async (method: string, path: string, body?: unknown) =>
    eventually(
      async () => {
        const response = await call(method, path, body);
        return response.status < 500 ? response : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${method} ${path}` },
    );
  const publish = async (name: string, steps: { id: string; delay: string; subject: string }[]) => {
    const created = await callWithRetry('POST', '/sequences', {
      name,
      steps: steps.map((s) => ({ ...s, name: s.id, html: '<p>{{ contact.name }}</p>' })),
    });
    await callWithRetry('POST', `/sequences/${created.body.id}/publish`);
    return created.body.id as string;
  };

  const drillSequence = await publish('Drill', [
    { id: 'one', delay: 'PT0S', subject: 'Drill step one' },
    { id: 'two', delay: STEP_GAP, subject: 'Drill step two' },
    { id: 'three', delay: STEP_GAP, subject: 'Drill step three' },
  ]);
  const probeSequence = await publish('Probe', [{ id: 'probe', delay: 'PT0S', subject: 'Probe' }]);
  const contacts = await seedContacts(stack.db, stack.workspaceId, ENROLLMENTS, 'drill');

  const started = Date.now();
  await mapConcurrent(contacts, 16, async (contactId) => {
    const response = await callWithRetry('POST', `/sequences/${drillSequence}/enrollments`, { contactId });
    if (response.status !== 201)
      throw new Error(`enroll: ${response.status} ${JSON.stringify(response.body)}`);
  });
  const enrolledAfter = Date.now() - started;
  await stack.fake.failRandomly(
    0.05,
    [
      { status: 500 },
      { status: 429, retryAfterSeconds: 1 },
      { dropConnection: true },
      { status: 500, afterDelivery: true },
    ],
    7,
  );

  let probes = 0;
  /** Time from now until a brand-new enrollment's email reaches the provider. */
  const timeToDeliverProbe = async () => {
    const from = Date.now();
    const email = `probe-${++probes}@drill.test`;
    const contact = await callWithRetry('POST', '/contacts', { email });
    await callWithRetry('POST', `/sequences/${probeSequence}/enrollments`, { contactId: contact.body.id });
    await eventually(async () => (await stack.fake.deliveriesTo(email)).length > 0, {
      timeoutMs: 600_000,
      intervalMs: 200,
      what: `probe ${email}`,
    });
    return Date.now() - from;
  };

  const killWorker = async () => {
    await worker.stop('SIGKILL');
    worker = stack.startWorker();
  };
  const faults: { label: string; act: () => Promise<void> }[] = [
    { label: 'worker SIGKILL 1', act: killWorker },
    { label: 'worker SIGKILL 2', act: killWorker },
    { label: 'PostgreSQL restart', act: () => postgres.restart() },
    { label: 'worker SIGKILL 3', act: killWorker },
    { label: 'Temporal dev server restart', act: () => stack.temporal.restart() },
    { label: 'worker SIGKILL 4', act: killWorker },
    { label: 'worker SIGKILL 5', act: killWorker },
  ];
  const recoveries: Figure[] = [];
  for (const fault of faults) {
    const at = Date.now();
    await fault.act();
    const recovery = await timeToDeliverProbe();
    recoveries.push({ name: `recovery after ${fault.label}`, value: fmt.ms(recovery) });
    console.log(`${fault.label} at +${Math.round((at - started) / 1000)} s: recovered in ${recovery} ms`);
  }

  await eventually(
    async () =>
      (await stack.db.orm.em.fork().count(Enrollment, { sequence: drillSequence, status: 'completed' })) ===
      ENROLLMENTS,
    { timeoutMs: 900_000, intervalMs: 1000, what: 'every drill enrollment to complete' },
  );
  const finishedAfter = Date.now() - started;

  // Invariants: each (recipient, step) exactly once at the provider.
  const delivered = (await stack.fake.deliveries()).filter((d) => d.subject.startsWith('Drill'));
  const perPair = new Map<string, number>();
  for (const d of delivered)
    perPair.set(`${d.to.join(',')}|${d.subject}`, (perPair.get(`${d.to.join(',')}|${d.subject}`) ?? 0) + 1);
  const duplicates = [...perPair.values()].filter((n) => n > 1).length;
  const expected = ENROLLMENTS * 3;
  const lost = expected - perPair.size;
  const stats = await stack.fake.stats();
  failed = duplicates > 0 || lost !== 0 || stats.duplicates.idempotencyKeys > 0;

  await writeResults(
    'fault-drill',
    'Fault drill: kills and restarts mid-run',
    [
      {
        name: '(enrollment, step) pairs delivered',
        value: `${perPair.size} of ${expected}`,
        target: 'all',
        ok: lost === 0,
      },
      {
        name: 'duplicate deliveries',
        value: String(duplicates + stats.duplicates.idempotencyKeys),
        target: '0',
        ok: duplicates === 0 && stats.duplicates.idempotencyKeys === 0,
      },
      { name: 'provider faults injected (5% of requests)', value: String(stats.faultsInjected) },
      ...recoveries,
      { name: `enrolling ${ENROLLMENTS} through the API`, value: fmt.ms(enrolledAfter) },
      { name: 'whole drill, enrollment to last step', value: fmt.ms(finishedAfter) },
    ],
    [
      `Method: ${ENROLLMENTS} enrollments of a 3-step sequence (steps ${STEP_GAP} apart) through the real API and worker ` +
        `processes, a private PostgreSQL and a file-backed Temporal dev server; the Resend fake fails 5% of requests ` +
        `(500, 429 with retry-after, dropped connections, and 500 after accepting the email). Faults run one after another; ` +
        `after each, the drill measures how long a new enrollment takes to reach the provider (recovery).`,
    ],
  );
} finally {
  await stack.stop();
  await postgres.stop();
}
if (failed) {
  console.error('fault drill: an invariant broke (see above)');
  process.exit(1);
}
