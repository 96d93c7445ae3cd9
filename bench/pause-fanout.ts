/**
 * Sequence pause fan-out (S3, DESIGN §4): a sequence with BENCH_CONTACTS (10,000) sleeping
 * enrollments is paused through the API while emails of it are being sent and others fall due.
 *
 * The sequence sends 06:00–18:00 in the contact's time zone: step 1 BENCH_STEP_DELAY_S (30) after
 * enrollment, step 2 a day later. The sleepers (bulk-enrolled by email) live where it is about
 * midnight, so their first step waits for the window. BENCH_SENDERS (600) senders live where it is
 * about noon and are enrolled at a steady rate during the 2 × delay before the pause: when the
 * pause arrives their first steps are being sent, and for one delay after it more fall due.
 *
 * Measured:
 *  1. how long `POST /sequences/:id/pause` takes to answer (target < 1 s);
 *  2. how long until every live enrollment *reports* paused: the visibility count of
 *     `NudgeEnrollmentStatus = "paused" AND NudgeSequenceId = …` (the attribute a workflow upserts
 *     once it has applied the pause) reaches the live enrollments. Those it never counts, and a
 *     sample, are asked with the state query whether they are held by the sequence;
 *  3. fan-out signals/s, from the fan-out run's start to its last signal (from its history),
 *     against bare signals/s: as many trivial workflows (support/bare-signal-workflow.ts, own task
 *     queue, a worker in this process) signalled with the same concurrency (FANOUT_CONCURRENCY,
 *     100) once before and once after the pause; their mean is compared. Target ratio ≥ 0.8;
 *  4. invariants: nothing of the sequence reaches the provider between the pause's answer and the
 *     resume (the fake's receipt times, the ledger's), and after the resume every held step goes,
 *     once.
 * Exits 1 when an invariant breaks, or when an enrollment never reports paused; the ratio and the
 * timings are reported, not asserted.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Delivery, Enrollment, EventLog, LIVE_ENROLLMENT_STATUSES, Sequence } from '../db/entities/index.js';
import { eventually } from '../test/support/wait.js';
import { sequenceFanOutWorkflowId } from '../workflows/ids.js';
import { stateQuery } from '../workflows/messages.js';
import { EnrollmentStatusAttribute, SequenceIdAttribute } from '../workflows/search-attributes.js';
import { pokedStatus, pokeSignal, WAITING } from './support/bare-signal-workflow.js';
import { fmt, writeResults, type Figure } from './support/results.js';
import { apiClient, mapConcurrent, startStack } from './support/stack.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 10_000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 600);
const STEP_DELAY_S = Number(process.env.BENCH_STEP_DELAY_S ?? 30);
const CONCURRENCY = Number(process.env.FANOUT_CONCURRENCY ?? 100);
const TARGET_PAUSE_MS = 1000;
const TARGET_RATIO = 0.8;
/** Contacts per bulk request: one request stays well inside the HTTP client's 300 s timeout. */
const BULK_CHUNK = 1000;
const SAMPLE = 25;
/** A visibility count that has not grown for this long will not reach its target. */
const STALL_MS = 60_000;
const { EventType } = proto.temporal.api.enums.v1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

/** A fixed-offset zone whose wall clock now reads `hour` o'clock (POSIX signs: Etc/GMT-2 is UTC+2). */
function zoneWhereItIs(hour: number): string {
  const offset = ((hour - new Date().getUTCHours() + 36) % 24) - 12;
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

const statusQuery = (group: string, status: string, negate = false) =>
  `${SequenceIdAttribute.name} = "${group}" AND ${EnrollmentStatusAttribute.name} ${negate ? '!=' : '='} "${status}"`;

/**
 * How a visibility count grows: [ms since `since` (performance.now()), count], every 250 ms,
 * until it reaches `expected` or has not grown for STALL_MS.
 */
async function watchCount(client: Client, query: string, expected: number, since: number) {
  const series: [number, number][] = [];
  let grewAt = performance.now();
  for (;;) {
    const { count } = await client.workflow.count(query);
    const now = performance.now();
    if (count > (series.at(-1)?.[1] ?? -1)) grewAt = now;
    series.push([now - since, count]);
    if (count >= expected || now - grewAt > STALL_MS) return series;
    await sleep(250);
  }
}

/** When a watched count first reached `count`, or null. */
const reachedAt = (series: [number, number][], count: number) =>
  series.find(([, value]) => value >= count)?.[0] ?? null;

/** From a closed fan-out run's history (server clock): start to last signal, and its activity alone. */
async function fanOutSpan(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const at = (type: number) => {
    const time = events.find((e) => e.eventType === type)?.eventTime;
    return time ? Number(time.seconds) * 1000 + (time.nanos ?? 0) / 1e6 : NaN;
  };
  const activityDone = at(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  return {
    toLastSignalMs: activityDone - at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
    activityMs: activityDone - at(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED),
    attempts:
      events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        ?.activityTaskStartedEventAttributes?.attempt ?? 1,
  };
}

Runtime.install({ logger: new DefaultLogger('WARN') }); // the bare worker's, bundler included
const stack = await startStack({ env: { FANOUT_CONCURRENCY: String(CONCURRENCY) } });
const failures: string[] = [];
let bare: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
try {
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);
  const em = () => stack.db.orm.em.fork();
  const { client } = stack;

  const created = await call('POST', '/sequences', {
    name: 'Pause bench',
    sendWindow: { days: [1, 2, 3, 4, 5, 6, 7], start: '06:00', end: '18:00' },
    steps: [
      {
        id: 'first',
        name: 'First',
        delay: `PT${STEP_DELAY_S}S`,
        subject: 'Pause bench 1',
        html: '<p>Hi</p>',
      },
      { id: 'second', name: 'Second', delay: 'P1D', subject: 'Pause bench 2', html: '<p>Again</p>' },
    ],
  });
  const sequenceId: string = created.body.id;
  await call('POST', `/sequences/${sequenceId}/publish`);
  const enroll = async (contacts: object[]) => {
    for (let from = 0; from < contacts.length; from += BULK_CHUNK) {
      const batch = contacts.slice(from, from + BULK_CHUNK);
      const response = await call('POST', `/sequences/${sequenceId}/enrollments/bulk`, { contacts: batch });
      if (response.status !== 200 || response.body.summary.enrolled !== batch.length) {
        throw new Error(`bulk enrollment: ${response.status} ${JSON.stringify(response.body.summary)}`);
      }
    }
  };

  // Sleepers: enrolled (before the worker starts: the starts go faster), then every workflow
  // asleep on its timer before anything is measured. Meanwhile the bare workflows start: as
  // many waiting for a signal, with their own worker in this process.
  const setUpStarted = performance.now();
  const sleeperZone = zoneWhereItIs(0);
  await enroll(
    Array.from({ length: CONTACTS }, (_, i) => ({ email: `sleeper-${i}@bench.test`, timeZone: sleeperZone })),
  );
  console.log(`${CONTACTS} sleepers enrolled in ${seconds(performance.now() - setUpStarted)}`);
  // Fan-outs in a process of their own (WORKER_ROLES, README "Run at scale"): the pause's
  // signals then leave from a thread that is not also running the workflows they wake.
  stack.startWorker({ WORKER_ROLES: 'enrollments,sends' });
  stack.startWorker({ WORKER_ROLES: 'fanout', METRICS_PORT: '0' });
  const bareQueue = `bare-${randomUUID().slice(0, 8)}`;
  const bareGroup = randomUUID();
  const bareConnection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await Worker.create({
    connection: bareConnection,
    taskQueue: bareQueue,
    workflowsPath: fileURLToPath(new URL('./support/bare-signal-workflow.ts', import.meta.url)),
    maxCachedWorkflows: 250, // as Nudge's worker (WORKER_MAX_CACHED_WORKFLOWS)
  });
  bare = { worker, running: worker.run(), connection: bareConnection };
  const bareIds = Array.from({ length: CONTACTS }, (_, i) => `bare:${bareGroup}:${i}`);
  await Promise.all([
    eventually(
      async () =>
        (await em().count(Enrollment, { sequence: sequenceId, currentStepId: 'first' })) >= CONTACTS,
      { timeoutMs: 3_600_000, intervalMs: 1000, what: `${CONTACTS} sleeping enrollments` },
    ),
    (async () => {
      await mapConcurrent(bareIds, 64, (workflowId) =>
        client.workflow.start('bareSignalWorkflow', {
          workflowId,
          taskQueue: bareQueue,
          typedSearchAttributes: [
            { key: SequenceIdAttribute, value: bareGroup },
            { key: EnrollmentStatusAttribute, value: 'active' },
          ],
        }),
      );
      const waiting = await watchCount(client, statusQuery(bareGroup, WAITING), CONTACTS, 0);
      if (reachedAt(waiting, CONTACTS) === null) throw new Error('bare workflows did not start');
    })(),
  ]);
  console.log(`set up in ${seconds(performance.now() - setUpStarted)}`);
  const bareRound = async (round: number) => {
    const started = performance.now();
    const applied = watchCount(client, statusQuery(bareGroup, pokedStatus(round)), CONTACTS, started);
    await mapConcurrent(bareIds, CONCURRENCY, (id) => client.workflow.getHandle(id).signal(pokeSignal));
    const signalledMs = performance.now() - started;
    const appliedMs = reachedAt(await applied, CONTACTS);
    if (appliedMs === null) throw new Error(`bare workflows stopped reporting round ${round}`);
    const rate = CONTACTS / (signalledMs / 1000);
    console.log(
      `bare round ${round}: ${fmt.rate(rate)} (${seconds(signalledMs)}), all applied in ${seconds(appliedMs)}`,
    );
    return { rate, appliedRate: CONTACTS / (appliedMs / 1000), appliedMs };
  };
  const bareBefore = await bareRound(1);

  // Senders: enrolled at a steady rate, so steps are being sent at the pause and fall due after it.
  const senderZone = zoneWhereItIs(12);
  const senders = Array.from({ length: SENDERS }, (_, i) => ({
    email: `sender-${i}@bench.test`,
    timeZone: senderZone,
  }));
  const perSecond = Math.ceil(SENDERS / (2 * STEP_DELAY_S));
  const batches = Array.from({ length: Math.ceil(SENDERS / perSecond) }, (_, i) =>
    senders.slice(i * perSecond, (i + 1) * perSecond),
  );
  const trickleStarted = performance.now();
  await mapConcurrent(batches, 4, async (batch, i) => {
    await sleep(trickleStarted + i * 1000 - performance.now());
    await enroll(batch);
  });

  // 1. The pause.
  const loadAtPause = load();
  const pauseSentAt = Date.now();
  const pauseStarted = performance.now();
  const paused = await call('POST', `/sequences/${sequenceId}/pause`);
  const pauseMs = performance.now() - pauseStarted;
  const pauseAnsweredAt = Date.now();
  if (paused.status !== 200)
    throw new Error(`pause answered ${paused.status}: ${JSON.stringify(paused.body)}`);
  console.log(`pause answered in ${fmt.ms(pauseMs)}`);

  // 2 and 3. The fan-out's signals, and every live enrollment reporting paused.
  const { revision } = await em().findOneOrFail(Sequence, sequenceId);
  const live = await em().count(Enrollment, {
    sequence: sequenceId,
    status: { $in: [...LIVE_ENROLLMENT_STATUSES] },
  });
  const fanOut = client.workflow.getHandle(sequenceFanOutWorkflowId(sequenceId, revision));
  const [told, pausedSeries] = await Promise.all([
    fanOut.result(),
    watchCount(client, statusQuery(sequenceId, 'paused'), live, pauseStarted + pauseMs),
  ]);
  const span = await fanOutSpan(fanOut);
  const fanOutRate = told.reached / (span.toLastSignalMs / 1000);
  // What the workflows say themselves (a query answers from the workflow's own state): every
  // one that visibility does not show paused, and a sample.
  const unreported: string[] = [];
  for await (const execution of client.workflow.list({ query: statusQuery(sequenceId, 'paused', true) }))
    unreported.push(execution.workflowId);
  const workflowIds = (await em().find(Enrollment, { sequence: sequenceId }, { fields: ['workflowId'] })).map(
    (e) => e.workflowId,
  );
  const sample = workflowIds.filter((_, i) => i % Math.max(1, Math.floor(workflowIds.length / SAMPLE)) === 0);
  const heldBySequence = async (ids: string[]) =>
    (await mapConcurrent(ids, 10, (id) => client.workflow.getHandle(id).query(stateQuery))).filter(
      (state) => state.status === 'paused' && state.heldBy.includes('sequence'),
    ).length;
  const sampleHeld = await heldBySequence(sample);
  const unreportedHeld = await heldBySequence(unreported);
  const allPausedMs = reachedAt(pausedSeries, live);
  const restPausedMs = reachedAt(pausedSeries, live - unreported.length);
  console.log(
    `fan-out: ${told.reached} reached, ${told.gone} gone, last signal ${seconds(span.toLastSignalMs)} after its start ` +
      `(${fmt.rate(fanOutRate)}); reported paused: ${pausedSeries.at(-1)?.[1]} of ${live}`,
  );

  const bareAfter = await bareRound(2);
  const bareRate = (bareBefore.rate + bareAfter.rate) / 2;
  const ratio = fanOutRate / bareRate;
  const bareAppliedRate = (bareBefore.appliedRate + bareAfter.appliedRate) / 2;
  const fanOutAppliedRate = restPausedMs === null ? NaN : (live - unreported.length) / (restPausedMs / 1000);

  // 4. Nothing of the sequence reached the provider between the pause's answer and the resume.
  const resumeSentAt = Date.now();
  const resumeStarted = performance.now();
  const resumed = await call('POST', `/sequences/${sequenceId}/resume`);
  if (resumed.status !== 200)
    throw new Error(`resume answered ${resumed.status}: ${JSON.stringify(resumed.body)}`);
  const whilePaused = (at: number) => at > pauseAnsweredAt && at < resumeSentAt;
  const beforeResume = (await stack.fake.deliveries()).filter((d) => d.receivedAt < resumeSentAt);
  const providerAfterPause = beforeResume.filter((d) => whilePaused(d.receivedAt)).length;
  const ledgerAfterPause = (
    await em().find(Delivery, { sequence: sequenceId }, { fields: ['createdAt', 'sentAt'] })
  ).filter((d) => whilePaused(d.createdAt.getTime()) || (d.sentAt && whilePaused(d.sentAt.getTime()))).length;
  const sentJustBefore = beforeResume.filter(
    (d) => d.receivedAt > pauseSentAt - 5000 && d.receivedAt <= pauseSentAt,
  ).length;
  const sentDuringRequest = beforeResume.filter(
    (d) => d.receivedAt > pauseSentAt && d.receivedAt <= pauseAnsweredAt,
  ).length;
  const held = SENDERS - beforeResume.length;
  const refusedByGuard = await em().count(EventLog, { sequence: sequenceId, type: 'send.refused' });

  // After the resume every held step goes, once; the sleepers' window is still closed.
  await eventually(async () => (await stack.fake.stats()).deliveries >= SENDERS, {
    timeoutMs: 600_000,
    intervalMs: 250,
    what: `all ${SENDERS} first steps delivered after the resume`,
  });
  const drainedMs = performance.now() - resumeStarted;
  // The resume's fan-out: the same code again, a second sample of its rate.
  const resumeFanOut = client.workflow.getHandle(sequenceFanOutWorkflowId(sequenceId, revision + 1));
  const resumeRate =
    (await resumeFanOut.result()).reached / ((await fanOutSpan(resumeFanOut)).toLastSignalMs / 1000);
  const stats = await stack.fake.stats();
  const recipients = new Set((await stack.fake.deliveries()).flatMap((d) => d.to));
  const sendersReached = senders.filter((s) => recipients.has(s.email)).length;
  const duplicates = stats.duplicates.idempotencyKeys + stats.duplicates.recipientSubject;
  const resumeOk = sendersReached === SENDERS && stats.deliveries === SENDERS && duplicates === 0;

  if (providerAfterPause + ledgerAfterPause > 0)
    failures.push(
      `${providerAfterPause} emails at the provider (${ledgerAfterPause} in the ledger) after the pause answered`,
    );
  if (told.reached !== live) failures.push(`the fan-out reached ${told.reached} of ${live} live enrollments`);
  if (sampleHeld !== sample.length)
    failures.push(`${sample.length - sampleHeld} sampled enrollments not held`);
  if (unreported.length > 0)
    failures.push(
      `${unreported.length} enrollments never reported paused in visibility (${unreportedHeld} of them held by their own state)`,
    );
  if (!resumeOk)
    failures.push(
      `after the resume: ${sendersReached} of ${SENDERS} senders reached, ${stats.deliveries} emails, ${duplicates} duplicates`,
    );

  const figures: Figure[] = [
    {
      name: `pause request answered (${live.toLocaleString('en')} live enrollments, sends in flight)`,
      value: fmt.ms(pauseMs),
      target: `< ${TARGET_PAUSE_MS} ms`,
      ok: pauseMs < TARGET_PAUSE_MS,
    },
    {
      name: 'every live enrollment reports paused (visibility count), after the pause answered',
      value:
        allPausedMs !== null
          ? seconds(allPausedMs)
          : `never: ${unreported.length} not paused in visibility (${unreportedHeld} of them held by their own state); ` +
            `the other ${(live - unreported.length).toLocaleString('en')} after ${restPausedMs === null ? '?' : seconds(restPausedMs)}`,
      target: 'all',
      ok: allPausedMs !== null,
    },
    {
      name: `state query of a sample of ${sample.length}: paused, held by the sequence`,
      value: `${sampleHeld} / ${sample.length}`,
      target: 'all',
      ok: sampleHeld === sample.length,
    },
    {
      name: `fan-out, ${CONCURRENCY} signals in flight: run start to last signal (its activity alone)`,
      value: `${fmt.rate(fanOutRate)} (${seconds(span.toLastSignalMs)}; ${seconds(span.activityMs)})`,
    },
    {
      name: `the resume's fan-out, the same way (held steps being sent meanwhile)`,
      value: fmt.rate(resumeRate),
    },
    {
      name: `bare signals, ${CONCURRENCY} in flight (mean of the rounds before and after)`,
      value: `${fmt.rate(bareRate)} (${fmt.rate(bareBefore.rate)}, ${fmt.rate(bareAfter.rate)})`,
    },
    {
      name: 'fan-out / bare',
      value: fmt.ratio(ratio),
      target: `≥ ${TARGET_RATIO}`,
      ok: ratio >= TARGET_RATIO,
    },
    {
      name: 'signals applied (visibility shows them): fan-out, from the pause answer / bare, from the first signal',
      value:
        `${fmt.rate(fanOutAppliedRate)} / ${fmt.rate(bareAppliedRate)} (${fmt.rate(bareBefore.appliedRate)}, ` +
        `${fmt.rate(bareAfter.appliedRate)}): ${fmt.ratio(fanOutAppliedRate / bareAppliedRate)}`,
    },
    {
      name: 'emails of the sequence at the provider after the pause answered (fake; ledger)',
      value: `${providerAfterPause}; ${ledgerAfterPause}`,
      target: '0',
      ok: providerAfterPause + ledgerAfterPause === 0,
    },
    {
      name: 'emails sent in the 5 s before the pause request; while it ran',
      value: `${sentJustBefore}; ${sentDuringRequest}`,
    },
    {
      name: 'steps held by the pause (of them refused by the send guard before the signal came)',
      value: `${held} (${refusedByGuard})`,
    },
    {
      name: 'after the resume: every held step sent, once',
      value: `${seconds(drainedMs)}; ${stats.deliveries} emails to ${sendersReached} of ${SENDERS} senders, ${duplicates} duplicates`,
      target: `${SENDERS}, 0 duplicates`,
      ok: resumeOk,
    },
  ];
  await writeResults('pause-fanout', 'Sequence pause: fan-out to every enrollment', figures, [
    `Method: ${CONTACTS.toLocaleString('en')} sleeping enrollments (bulk-enrolled by email, first step waiting for the ` +
      `send window) and ${SENDERS} senders enrolled at ${perSecond}/s over the ${2 * STEP_DELAY_S} s before the pause, ` +
      `first step ${STEP_DELAY_S} s after enrollment: at the pause emails are being sent, and for ${STEP_DELAY_S} s ` +
      `after it more steps fall due. The real API and worker processes, a dev server, PostgreSQL and the Resend fake; ` +
      `the worker runs as two processes, \`WORKER_ROLES=enrollments,sends\` and \`WORKER_ROLES=fanout\`.`,
    `"Reports paused": the visibility count of \`NudgeSequenceId = … AND NudgeEnrollmentStatus = "paused"\`, which a ` +
      `workflow upserts once it has applied the pause signal, polled every 250 ms until it equals the live enrollments.`,
    `Bare: ${CONTACTS.toLocaleString('en')} workflows that wait for a signal and upsert a search attribute when it comes, ` +
      `on their own task queue with a worker in the bench process (cache of 250, as Nudge's), signalled with ` +
      `\`handle.signal\` with the same concurrency, before and after the pause. Signals/s: signals over the time from ` +
      `the first signal sent (for the fan-out: its run started) to the last one accepted.`,
    `Load average at the pause: ${loadAtPause}; when done: ${load()}, on a machine shared with other work: absolute ` +
      `rates vary from run to run, the ratio less.`,
    ...(span.attempts > 1 ? [`The fan-out activity ran ${span.attempts} times.`] : []),
    ...(failures.length ? [`Invariants broken: ${failures.join('; ')}.`] : []),
  ]);
} finally {
  if (bare) {
    bare.worker.shutdown();
    await bare.running;
    await bare.connection.close();
  }
  await stack.stop();
}
if (failures.length) {
  console.error(`pause fan-out: ${failures.join('; ')}`);
  process.exit(1);
}
