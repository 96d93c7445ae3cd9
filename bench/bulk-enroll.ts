/**
 * Bulk enrollment throughput: 10,000 contacts enrolled through the API in one request
 * (`POST /sequences/{id}/enrollments/bulk`, contacts given by email and created on the way)
 * against the rate at which the same Temporal dev server build starts bare workflows with
 * `client.workflow.start` (same workflow type, arguments and search attributes, 64 in flight).
 * Target: the API reaches at least 0.8 of the bare rate.
 *
 * Fair on a shared machine: the API run is bracketed by two bare runs (bare, API, bare) and
 * compared with their mean, so load that drifts during the run weighs on both sides alike;
 * every run gets a fresh in-memory dev server, because a server already holding tens of
 * thousands of workflows starts new ones more slowly. No worker runs: all three runs measure
 * starting workflows, and a worker would compete for the same cores. The run then checks
 * every enrollment has its row, its run id and its workflow.
 *   BENCH_CONTACTS (default 10000), BENCH_BARE_CONCURRENCY (default 64)
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { registerSearchAttributes } from '../config/temporal.js';
import { Enrollment } from '../db/entities/index.js';
import { enrollmentWorkflowId } from '../workflows/ids.js';
import {
  ContactEmailAttribute,
  ContactIdAttribute,
  EnrollmentStatusAttribute,
  SequenceIdAttribute,
} from '../workflows/search-attributes.js';
import { fmt, writeResults } from './support/results.js';
import { apiClient, mapConcurrent, publishSequence, startStack } from './support/stack.js';
import { startDevServer } from './support/temporal-dev-server.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_BARE_CONCURRENCY ?? 64);
const TARGET = 0.8;

/** Starts CONTACTS bare workflows on a fresh dev server; returns starts per second. */
async function bareRun(workspaceId: string, sequenceId: string): Promise<number> {
  const server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  try {
    await registerSearchAttributes(connection, 'default');
    const client = new Client({ connection });
    const queue = `bare-${randomUUID().slice(0, 8)}`;
    const started = performance.now();
    await mapConcurrent(
      Array.from({ length: CONTACTS }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const contactId = randomUUID();
        await client.workflow.start('enrollmentWorkflow', {
          workflowId: `bare:${queue}:${i}`,
          taskQueue: queue,
          args: [{ enrollmentId: randomUUID(), workspaceId, sequenceId, contactId, generation: 1 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [
            { key: SequenceIdAttribute, value: sequenceId },
            { key: ContactIdAttribute, value: contactId },
            { key: ContactEmailAttribute, value: `bare-${i}@bench.test` },
            { key: EnrollmentStatusAttribute, value: 'active' },
          ],
          memo: { enrollmentId: 'bare', generation: 1 },
          staticSummary: `Bulk bench → bare-${i}@bench.test`,
        });
      },
    );
    const rate = CONTACTS / ((performance.now() - started) / 1000);
    console.log(`bare client.workflow.start, ${CONCURRENCY} in flight: ${fmt.rate(rate)}`);
    return rate;
  } finally {
    await connection.close();
    await server.stop();
  }
}

const stack = await startStack();
try {
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);
  const sequenceId = await publishSequence(call, {
    name: 'Bulk bench',
    steps: [{ id: 'welcome', name: 'Welcome', delay: 'P1D', subject: 'Hi', html: '<p>Hi</p>' }],
  });

  const bareBefore = await bareRun(stack.workspaceId, sequenceId);

  // Through the API: one request, contacts by email, created on the way.
  const contacts = Array.from({ length: CONTACTS }, (_, i) => ({
    email: `bulk-${i}@bench.test`,
    name: `Bulk ${i}`,
    tags: ['bench'],
  }));
  const started = performance.now();
  const response = await call('POST', `/sequences/${sequenceId}/enrollments/bulk`, { contacts });
  const seconds = (performance.now() - started) / 1000;
  if (response.status !== 200) {
    throw new Error(`bulk enrollment answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  const { summary } = response.body;
  const apiRate = CONTACTS / seconds;
  console.log(
    `API bulk enrollment: ${fmt.rate(apiRate)} (${seconds.toFixed(1)} s), ${JSON.stringify(summary)}`,
  );

  const bareAfter = await bareRun(stack.workspaceId, sequenceId);
  const bare = (bareBefore + bareAfter) / 2;

  // Correctness: every contact enrolled once, with a run id and a workflow.
  const rows = await stack.db.orm.em.fork().find(Enrollment, { sequence: sequenceId });
  const complete = rows.filter((r) => r.status === 'active' && r.runId).length;
  const sample = rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / 20)) === 0);
  await Promise.all(
    sample.map((r) =>
      stack.client.workflow.getHandle(enrollmentWorkflowId(sequenceId, r.contact)).describe(),
    ),
  );

  const ratio = apiRate / bare;
  await writeResults(
    'bulk-enroll',
    'Bulk enrollment vs bare workflow starts',
    [
      {
        name: `bare client.workflow.start, ${CONCURRENCY} in flight (mean of the runs before and after)`,
        value: `${fmt.rate(bare)} (${fmt.rate(bareBefore)}, ${fmt.rate(bareAfter)})`,
      },
      {
        name: `API bulk enrollment, ${CONTACTS.toLocaleString('en')} contacts by email in one request`,
        value: `${fmt.rate(apiRate)} (${seconds.toFixed(1)} s)`,
      },
      { name: 'API / bare', value: fmt.ratio(ratio), target: `≥ ${TARGET}`, ok: ratio >= TARGET },
      {
        name: 'enrolled, each with its row, run id and workflow',
        value: `${summary.enrolled} / ${CONTACTS} (rows with run id: ${complete})`,
        target: `${CONTACTS}`,
        ok: summary.enrolled === CONTACTS && complete === CONTACTS,
      },
    ],
    [
      'Runs in the order bare, API, bare, each on a fresh in-memory dev server; no worker runs during any of them.',
      `Load average when done: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ', ',
        )} on a machine shared with other work: absolute rates vary from run to run, the ratio much less.`,
    ],
  );
  // The ratio is reported, not enforced; an enrollment missing is a broken invariant.
  if (summary.enrolled !== CONTACTS || complete !== CONTACTS) process.exitCode = 1;
} finally {
  await stack.stop();
}
