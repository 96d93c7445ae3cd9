/**
 * Due burst: 2,000 enrollments whose first step falls due at one instant, sent through the
 * Resend fake.
 *
 * Phase 1, provider without latency or limit: the drain rate (sends per second from the first
 * to the last provider call) against a no-op baseline on the same dev server (target ≥ 0.8),
 * and the lateness of each send (provider call − the step's scheduled send time).
 * Phase 2, provider limited to 20/s (SEND_RATE_PER_SECOND=20 on the worker, honoured by the send
 * task queue's server-side rate limit, D5; the fake answers 429 above 20 requests a second):
 * the observed rate (target within 5% of the limit) and the 429s (target none).
 * Invariant (exit 1 when broken): in each phase every enrollment's step reaches the provider
 * exactly once and the ledger records it sent.
 *
 * Due at one instant. A step delay (say PT2M) would make each enrollment due 2 minutes after
 * its own start, so the due instants would spread over the time enrolling takes (bulk starts
 * run at 20–40/s on a loaded 2-core machine: a minute or more for 2,000), and the "drain"
 * would measure the enrollment rate. Instead the sequence has a send window (UTC, every day)
 * that opens on a whole minute at least BENCH_LEAD_SECONDS ahead, and one step without delay:
 * each enrollment is due as it starts, while the window is still closed, so (T1) its send time
 * is the window's opening, the same instant for all. The run checks that every workflow has
 * planned its step before the window opens. Lateness is measured per enrollment against the
 * send time its workflow planned (the ledger's scheduledAt), at the provider (the fake's
 * receivedAt, the same machine's clock).
 *
 * The baseline: BENCH_CONTACTS bare workflows, each sleeping until one instant and then running
 * one no-op activity on its own send task queue. Its worker process is built by Nudge's own
 * buildWorker and buildSendWorker from the same environment as Nudge's worker (send
 * concurrency, rate limit, workflow cache), so only the work differs: the workflow, and a no-op
 * instead of the send. It runs before and after phase 1 and their mean counts, so load that
 * drifts on a shared machine weighs on both sides alike; a small unmeasured burst first warms
 * the fresh dev server, whose first burst is always slower.
 *   BENCH_CONTACTS (default 2000), BENCH_LEAD_SECONDS (default max(60, contacts / 8)),
 *   BENCH_RATE_LIMIT (default 20)
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/config.js';
import { Contact, Delivery, Enrollment } from '../db/entities/index.js';
import { DELIVERY_TAG } from '../email/sender.js';
import { bareAddress } from '../test/fakes/resend-fake-protocol.js';
import { spawnFakeResend, type FakeEmail, type RemoteFakeResend } from '../test/fakes/resend-fake.js';
import { eventually } from '../test/support/wait.js';
import { NOOP_WORKER_ENTRY, NOOP_WORKER_READY } from './support/noop-worker.js';
import type { dueBurstNoop } from './support/noop-workflow.js';
import { busyShare, cpuBetween, cpuSnapshot, type CpuPart, type CpuSpent } from './support/cpu.js';
import { fmt, writeResults, type Figure } from './support/results.js';
import { seedContacts } from './support/seed.js';
import {
  apiClient,
  mapConcurrent,
  publishSequence,
  startStack,
  type ApiCall,
  type Stack,
} from './support/stack.js';
import { percentile, rateBetweenFirstAndLast } from './support/stats.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 2000);
const LEAD_MS = Number(process.env.BENCH_LEAD_SECONDS ?? Math.max(60, Math.ceil(CONTACTS / 8))) * 1000;
const RATE_LIMIT = Number(process.env.BENCH_RATE_LIMIT ?? 20);
const TARGET_RATIO = 0.8;
const RATE_TOLERANCE = 0.05;
const MINUTE_MS = 60_000;
const STEP_ID = 'burst';
/** CPU is counted from this long before the burst falls due … */
const CPU_LEAD_MS = 1000;
/** … to this long after its last step is done (the last workflow tasks complete meanwhile). */
const CPU_SETTLE_MS = 2000;

/** The stack's processes whose CPU per step the report breaks down (bench/support/cpu.ts). */
const CPU_PARTS: CpuPart[] = [
  {
    name: 'worker',
    matches: ({ cmdline }) => cmdline.includes('worker/main.ts') || cmdline.includes(NOOP_WORKER_ENTRY),
  },
  { name: 'dev server', matches: ({ cmdline }) => cmdline.includes('server start-dev') },
  { name: 'PostgreSQL', matches: ({ comm }) => comm === 'postgres' },
  { name: 'fake', matches: ({ cmdline }) => cmdline.includes('resend-fake.ts') },
  {
    name: 'bench and API',
    matches: ({ pid, cmdline }) => pid === process.pid || cmdline.includes('api/main.ts'),
  },
];

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const leadAdvice = () =>
  `raise BENCH_LEAD_SECONDS (now ${LEAD_MS / 1000}) so that ${CONTACTS} enrollments start before the burst`;

/** One burst as the provider (or the no-op) saw it: when each call ran, when it was due. */
interface Call {
  atMs: number;
  dueMs: number;
}

interface Drain {
  rate: number;
  latenessP50: number;
  latenessP99: number;
  /** CPU the machine spent from just before the burst fell due until it was drained. */
  cpu: CpuSpent;
}

interface Delivered {
  /** Enrollments whose contact got the step's email exactly once. */
  once: number;
  missing: number;
  duplicates: number;
  /** Ledger rows of the sequence recorded `sent`. */
  sentRows: number;
}

interface PhaseResult {
  drain: Drain;
  delivered: Delivered;
  rejected429: number;
}

function drainOf(calls: Call[], cpu: CpuSpent): Drain {
  // A call without a planned time (no ledger row) has no lateness; the invariant counts it.
  const lateness = calls.map((call) => call.atMs - call.dueMs).filter(Number.isFinite);
  return {
    rate: rateBetweenFirstAndLast(calls.map((call) => call.atMs)),
    latenessP50: percentile(lateness, 50),
    latenessP99: percentile(lateness, 99),
    cpu,
  };
}

/** Runs `drain` (which resolves once the burst due at `dueAtMs` is done) and counts the CPU it took. */
async function withCpu<T>(dueAtMs: number, drain: () => Promise<T>): Promise<{ result: T; cpu: CpuSpent }> {
  await sleep(Math.max(0, dueAtMs - CPU_LEAD_MS - Date.now()));
  const before = cpuSnapshot(CPU_PARTS);
  const result = await drain();
  await sleep(CPU_SETTLE_MS);
  return { result, cpu: cpuBetween(CPU_PARTS, before, cpuSnapshot(CPU_PARTS)) };
}

// ---- the baseline -------------------------------------------------------------------------

/** `count` bare workflows due at one instant, each running one no-op activity. */
async function bareBurst(stack: Stack, label: string, count = CONTACTS, leadMs = LEAD_MS): Promise<Drain> {
  const taskQueue = `bare-${randomUUID().slice(0, 8)}`;
  const worker = stack.startWorker({ TEMPORAL_TASK_QUEUE: taskQueue }, NOOP_WORKER_ENTRY);
  try {
    await eventually(async () => worker.output().includes(NOOP_WORKER_READY), {
      timeoutMs: 120_000,
      what: 'the baseline worker',
      detail: () => worker.output(),
    });
    const dueAtMs = Date.now() + leadMs;
    const handles = await mapConcurrent(range(count), 64, (i) =>
      stack.client.workflow.start<typeof dueBurstNoop>('dueBurstNoop', {
        workflowId: `${taskQueue}-${i}`,
        taskQueue,
        args: [dueAtMs],
      }),
    );
    if (Date.now() >= dueAtMs) throw new Error(`starting the baseline outlasted the lead: ${leadAdvice()}`);
    const { result: ranAt, cpu } = await withCpu(dueAtMs, () =>
      mapConcurrent(handles, 64, (handle) => handle.result()),
    );
    const drain = drainOf(
      ranAt.map((atMs) => ({ atMs, dueMs: dueAtMs })),
      cpu,
    );
    console.log(`${label}: ${count} no-op activities, ${fmt.rate(drain.rate)}`);
    return drain;
  } finally {
    await worker.stop();
  }
}

// ---- Nudge --------------------------------------------------------------------------------

interface Phase {
  label: string;
  subject: string;
  fake: RemoteFakeResend;
  workerEnv: Record<string, string>;
  /** How long the drain may take before the run stops waiting and reports what is missing. */
  drainTimeoutMs: number;
}

/** A one-step sequence whose send window (UTC, every day) opens at `openAtMs`. */
function burstSequence(subject: string, openAtMs: number) {
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return {
    name: subject,
    timeZone: 'UTC',
    sendWindow: { days: [1, 2, 3, 4, 5, 6, 7], start: hhmm(openAtMs), end: hhmm(openAtMs + 120 * MINUTE_MS) },
    steps: [
      {
        id: STEP_ID,
        name: 'Burst',
        delay: 'PT0S',
        subject: `${subject} for {{ contact.name }}`,
        html: '<p>Hello {{ contact.name }}</p>',
      },
    ],
  };
}

async function nudgeBurst(stack: Stack, call: ApiCall, contactIds: string[], phase: Phase) {
  const worker = stack.startWorker(phase.workerEnv);
  try {
    const openAtMs = Math.ceil((Date.now() + LEAD_MS) / MINUTE_MS) * MINUTE_MS;
    const sequenceId = await publishSequence(call, burstSequence(phase.subject, openAtMs));
    await bulkEnroll(call, sequenceId, contactIds);
    await untilEveryStepIsPlanned(stack, sequenceId, openAtMs);
    const spareS = Math.round((openAtMs - Date.now()) / 1000);
    console.log(`${phase.label}: ${contactIds.length} steps planned ${spareS} s before they fall due`);
    const { cpu } = await withCpu(openAtMs, () =>
      untilEveryEnrollmentCompleted(stack, sequenceId, phase.drainTimeoutMs),
    );
    return await measure(stack, phase, sequenceId, cpu);
  } finally {
    await worker.stop();
  }
}

async function bulkEnroll(call: ApiCall, sequenceId: string, contactIds: string[]) {
  const response = await call('POST', `/sequences/${sequenceId}/enrollments/bulk`, {
    contacts: contactIds.map((contactId) => ({ contactId })),
  });
  if (response.status !== 200 || response.body.summary.enrolled !== contactIds.length) {
    throw new Error(
      `bulk enrollment: ${response.status} ${JSON.stringify(response.body.summary ?? response.body)}`,
    );
  }
}

/** Each workflow mirrors its pending step once it has planned it: then it sleeps until the opening. */
async function untilEveryStepIsPlanned(stack: Stack, sequenceId: string, openAtMs: number) {
  await eventually(
    async () =>
      (await stack.db.orm.em.fork().count(Enrollment, { sequence: sequenceId, currentStepId: STEP_ID })) ===
      CONTACTS,
    { timeoutMs: openAtMs - Date.now() - 1000, intervalMs: 500, what: `every step planned: ${leadAdvice()}` },
  );
}

async function untilEveryEnrollmentCompleted(stack: Stack, sequenceId: string, timeoutMs: number) {
  try {
    await eventually(
      async () =>
        (await stack.db.orm.em.fork().count(Enrollment, { sequence: sequenceId, status: 'completed' })) ===
        CONTACTS,
      { timeoutMs, intervalMs: 500, what: 'every enrollment to complete' },
    );
  } catch (error) {
    console.error(String(error)); // what is missing is counted and reported below
  }
}

/** The phase's provider calls, timed against each step's planned send time, and the invariant. */
async function measure(stack: Stack, phase: Phase, sequenceId: string, cpu: CpuSpent): Promise<PhaseResult> {
  const em = stack.db.orm.em.fork();
  const enrollments = await em.find(Enrollment, { sequence: sequenceId });
  const contacts = await em.find(Contact, { id: { $in: enrollments.map((e) => e.contact) } });
  const ledger = await em.find(Delivery, { sequence: sequenceId });
  const emails = (await phase.fake.deliveries()).filter((email) => email.subject.startsWith(phase.subject));
  const stats = await phase.fake.stats();

  const dueByDelivery = new Map(ledger.map((row) => [row.id, row.scheduledAt?.getTime() ?? Number.NaN]));
  const calls = emails.map((email) => ({
    atMs: email.receivedAt,
    dueMs: dueByDelivery.get(deliveryId(email) ?? '') ?? Number.NaN,
  }));
  const delivered = exactlyOnce(
    contacts.map((contact) => contact.email),
    emails,
    ledger.filter((row) => row.status === 'sent').length,
  );
  const drain = drainOf(calls, cpu);
  console.log(`${phase.label}: ${fmt.rate(drain.rate)}, ${JSON.stringify(delivered)}`);
  return { drain, delivered, rejected429: stats.byStatus['429'] ?? 0 };
}

function deliveryId(email: FakeEmail): string | undefined {
  return email.tags?.find((tag) => tag.name === DELIVERY_TAG)?.value;
}

/** How many expected recipients got exactly one email; emails beyond one per recipient are duplicates. */
function exactlyOnce(recipients: string[], emails: FakeEmail[], sentRows: number): Delivered {
  const perRecipient = new Map<string, number>();
  for (const to of emails.flatMap((email) => email.to.map(bareAddress))) {
    perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  }
  const counts = recipients.map((recipient) => perRecipient.get(bareAddress(recipient)) ?? 0);
  const reached = counts.filter((count) => count > 0).length;
  return {
    once: counts.filter((count) => count === 1).length,
    missing: recipients.length - reached,
    duplicates: emails.length - reached,
    sentRows,
  };
}

const intact = (d: Delivered) =>
  d.once === CONTACTS && d.missing === 0 && d.duplicates === 0 && d.sentRows === CONTACTS;

// ---- the report ---------------------------------------------------------------------------

interface Run {
  bareBefore: Drain;
  bareAfter: Drain;
  free: PhaseResult;
  limited: PhaseResult;
  settings: ReturnType<typeof loadConfig>;
  /** The same, as the worker of the limited phase runs. */
  limitedSettings: ReturnType<typeof loadConfig>;
}

const lateness = (d: Drain) => `${fmt.ms(d.latenessP50)} / ${fmt.ms(d.latenessP99)}`;

/** CPU ms per step by part and for the whole machine, averaged over `drains` (the baseline's two). */
function cpuPerStep(...drains: Drain[]): string {
  const mean = (pick: (cpu: CpuSpent) => number) =>
    drains.reduce((sum, d) => sum + pick(d.cpu), 0) / drains.length / CONTACTS;
  const parts = CPU_PARTS.map(
    (part, i) => `${part.name} ${mean((cpu) => cpu.byPart[i]!.ms).toFixed(1)}`,
  ).join(' · ');
  const busy = drains.reduce((sum, d) => sum + busyShare(d.cpu), 0) / drains.length;
  return `${parts} · machine ${mean((cpu) => cpu.machineMs).toFixed(1)} (cores ${Math.round(busy * 100)}% busy)`;
}

const deliveredFigure = (label: string, d: Delivered): Figure => ({
  name: `${label}: steps delivered exactly once (missing, duplicates, ledger rows sent)`,
  value: `${d.once} / ${CONTACTS} (${d.missing}, ${d.duplicates}, ${d.sentRows})`,
  target: `${CONTACTS} (0, 0, ${CONTACTS})`,
  ok: intact(d),
});

function figures({ bareBefore, bareAfter, free, limited }: Run): Figure[] {
  const bare = (bareBefore.rate + bareAfter.rate) / 2;
  const ratio = free.drain.rate / bare;
  const rateError = Math.abs(limited.drain.rate - RATE_LIMIT) / RATE_LIMIT;
  return [
    {
      name: 'baseline: no-op activity burst (mean of the runs before and after)',
      value: `${fmt.rate(bare)} (${fmt.rate(bareBefore.rate)}, ${fmt.rate(bareAfter.rate)})`,
    },
    {
      name: 'baseline lateness p50 / p99 (before, after)',
      value: `${lateness(bareBefore)}, ${lateness(bareAfter)}`,
    },
    {
      name: 'baseline CPU per step, ms (mean of before and after)',
      value: cpuPerStep(bareBefore, bareAfter),
    },
    {
      name: `Nudge drain, ${CONTACTS.toLocaleString('en')} sends, provider without limit`,
      value: fmt.rate(free.drain.rate),
    },
    {
      name: 'Nudge / baseline',
      value: fmt.ratio(ratio),
      target: `≥ ${TARGET_RATIO}`,
      ok: ratio >= TARGET_RATIO,
    },
    { name: 'lateness p50 / p99 (provider call − planned send time)', value: lateness(free.drain) },
    { name: 'Nudge CPU per step, ms, provider without limit', value: cpuPerStep(free.drain) },
    deliveredFigure('without limit', free.delivered),
    {
      name: `Nudge drain, provider limited to ${RATE_LIMIT}/s (SEND_RATE_PER_SECOND=${RATE_LIMIT})`,
      value: `${fmt.rate(limited.drain.rate)} (${(rateError * 100).toFixed(1)}% off)`,
      target: `${RATE_LIMIT}/s ± ${RATE_TOLERANCE * 100}%`,
      ok: rateError <= RATE_TOLERANCE,
    },
    {
      name: '429 answers from the provider',
      value: String(limited.rejected429),
      target: '0',
      ok: limited.rejected429 === 0,
    },
    { name: 'lateness p50 / p99 at the limit', value: lateness(limited.drain) },
    { name: `Nudge CPU per step, ms, at ${RATE_LIMIT}/s`, value: cpuPerStep(limited.drain) },
    deliveredFigure(`at ${RATE_LIMIT}/s`, limited.delivered),
  ];
}

function notes({ free, limited, settings, limitedSettings }: Run): string[] {
  return [
    `Method: ${CONTACTS} enrollments (bulk, through the API) of a one-step sequence with no delay and a send window that ` +
      `opens on a whole UTC minute at least ${LEAD_MS / 1000} s later: each enrollment is due while the window is closed, ` +
      `so all are sent from the same instant (T1); every workflow had planned its step before the opening. Rates run ` +
      `from the first to the last provider call (n calls, n − 1 gaps); lateness is each call's time at the fake minus ` +
      `the send time its workflow planned (the ledger's scheduledAt). The fake answers without latency; at the limit it ` +
      `answers 429 above ${RATE_LIMIT} requests in a fixed one-second window.`,
    `CPU per step: each process's user and system time (from /proc, PostgreSQL's ended backends included) from ` +
      `${CPU_LEAD_MS / 1000} s before the burst fell due to ${CPU_SETTLE_MS / 1000} s after its last step was done, ` +
      `divided by the steps; "machine" is every process's and the kernel's, so it also holds what no part names. ` +
      `Two cores are the budget: where they stay busy, the drain's rate is the cores' busy time divided by its CPU per step.`,
    `Baseline: the same number of bare workflows sleeping until one instant, each then running one no-op activity on ` +
      `its own send task queue; its worker is built by Nudge's buildWorker and buildSendWorker from the same environment ` +
      `(send concurrency ${settings.sends.concurrency}, no rate limit, workflow cache ${settings.worker.maxCachedWorkflows}), ` +
      `in its own process as Nudge's worker is. Order: an unmeasured warm-up burst of the baseline, then baseline, ` +
      `Nudge, baseline, Nudge at the limit, all on one in-memory dev server. At the limit the worker runs ` +
      `${limitedSettings.sends.concurrency} sends at once (SEND_CONCURRENCY, by default twice the rate: a send queued for its ` +
      `turn holds no connection).`,
    ...(free.drain.rate < RATE_LIMIT * (1 - RATE_TOLERANCE)
      ? [
          `Without a limit this run drained at ${fmt.rate(free.drain.rate)}, below ${RATE_LIMIT}/s, so the limit was not ` +
            `what held the second phase back (BENCH_RATE_LIMIT sets a lower one).`,
        ]
      : []),
    ...(limited.rejected429 > 0
      ? [
          `Each 429 is a request refused because more than ${RATE_LIMIT} reached the provider within one second: the pacer ` +
            `spaced the calls (activities/send-pacer.ts), but one that opened a window came later than its headroom allows. ` +
            `Refused sends were retried after retry-after (D4); the exactly-once figures above include them.`,
        ]
      : []),
    `Load average when done: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ', ',
      )} on a machine shared with other work: absolute rates vary from run to run, which is why the ` +
      `baseline is measured in the same run, before and after.`,
  ];
}

// ---- the run ------------------------------------------------------------------------------

const stack = await startStack();
const limitedFake = await spawnFakeResend({
  apiKey: 're_bench',
  recordRequests: false,
  rateLimitPerSecond: RATE_LIMIT,
});
let broken: boolean;
try {
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);
  const contactIds = await seedContacts(stack.db, stack.workspaceId, CONTACTS, 'burst');
  const limitedEnv = { SEND_RATE_PER_SECOND: String(RATE_LIMIT), RESEND_BASE_URL: limitedFake.url };

  // Without it, in two trials the first baseline burst on the fresh dev server ran 1.2× and 1.7×
  // slower than the second.
  await bareBurst(stack, 'warm-up', Math.min(CONTACTS, 200), 20_000);
  const bareBefore = await bareBurst(stack, 'baseline before');
  const free = await nudgeBurst(stack, call, contactIds, {
    label: 'unlimited provider',
    subject: 'Due burst',
    fake: stack.fake,
    workerEnv: {},
    drainTimeoutMs: 600_000,
  });
  const bareAfter = await bareBurst(stack, 'baseline after');
  const limited = await nudgeBurst(stack, call, contactIds, {
    label: `provider limited to ${RATE_LIMIT}/s`,
    subject: 'Rate-limited burst',
    fake: limitedFake,
    workerEnv: limitedEnv,
    drainTimeoutMs: (CONTACTS / RATE_LIMIT) * 3000 + 120_000,
  });

  const run: Run = {
    bareBefore,
    bareAfter,
    free,
    limited,
    settings: loadConfig({ ...process.env, ...stack.env }),
    limitedSettings: loadConfig({ ...process.env, ...stack.env, ...limitedEnv }),
  };
  broken = ![free, limited].every(({ delivered }) => intact(delivered));
  await writeResults(
    'due-burst',
    `Due burst: ${CONTACTS.toLocaleString('en')} steps due at one instant`,
    figures(run),
    notes(run),
  );
} finally {
  await Promise.all([stack.stop(), limitedFake.stop()]);
}
if (broken) {
  console.error('due burst: a step was lost or delivered twice (see above)');
  process.exit(1);
}
