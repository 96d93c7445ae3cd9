/**
 * Memory: the worker's resident set size with 1,000 and then 10,000 sleeping enrollments
 * (each waiting 30 days for its first step). Target: growth ≤ 1.2×.
 */
import { readFileSync } from 'node:fs';
import { Enrollment } from '../db/entities/index.js';
import { WORKER_HEAP_FLAGS } from '../worker/heap.js';
import { eventually } from '../test/support/wait.js';
import { fmt, writeResults } from './support/results.js';
import { seedContacts } from './support/seed.js';
import { apiClient, mapConcurrent, publishSequence, startStack } from './support/stack.js';

const SMALL = Number(process.env.BENCH_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_LARGE ?? 10000);

const rssFigure = (rss: { settled: number; peak: number }) =>
  `${fmt.mib(rss.settled)} (${fmt.mib(rss.peak)})`;

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) * 1024;
}

// "RSS with N sleeping" is the figure once the burst of first workflow tasks is over and the
// heaps are back to what stays live: each stage samples for SETTLE_SECONDS and reports the
// highest RSS of its last 20 seconds, with the stage's peak beside it. (Before the worker
// tuned its heaps, worker/heap.ts, V8 kept what a burst grew for a minute or more.)
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 150);

async function settledRss(pid: number): Promise<{ settled: number; peak: number }> {
  const samples: number[] = [];
  for (let i = 0; i < SETTLE_SECONDS; i++) {
    samples.push(rssOf(pid));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { settled: Math.max(...samples.slice(-20)), peak: Math.max(...samples) };
}

const stack = await startStack();
try {
  const worker = stack.startWorker();
  const { url } = await stack.startApi();
  const call = apiClient(url, stack.apiKey);
  const sequenceId = await publishSequence(call, {
    name: 'Sleepers',
    steps: [{ id: 'later', name: 'Later', delay: 'P30D', subject: 'Much later', html: '<p>Hi</p>' }],
  });
  const contacts = await seedContacts(stack.db, stack.workspaceId, LARGE, 'sleeper');

  const enrollUpTo = async (from: number, to: number) => {
    await mapConcurrent(contacts.slice(from, to), 16, async (contactId) => {
      const response = await call('POST', `/sequences/${sequenceId}/enrollments`, { contactId });
      if (response.status !== 201)
        throw new Error(`enroll: ${response.status} ${JSON.stringify(response.body)}`);
    });
    // Every workflow has run its first task and sleeps on its timer once it mirrored its due time.
    await eventually(
      async () =>
        (await stack.db.orm.em.fork().count(Enrollment, { sequence: sequenceId, currentStepId: 'later' })) ===
        to,
      { timeoutMs: 600_000, intervalMs: 500, what: `${to} sleeping enrollments` },
    );
  };

  const pid = worker.child.pid!;
  const idle = await settledRss(pid);
  await enrollUpTo(0, SMALL);
  const small = await settledRss(pid);
  await enrollUpTo(SMALL, LARGE);
  const large = await settledRss(pid);
  const growth = large.settled / small.settled;

  await writeResults(
    'memory',
    'Memory: worker RSS with sleeping enrollments',
    [
      { name: 'worker RSS, idle (peak while bundling)', value: rssFigure(idle) },
      { name: `worker RSS, ${SMALL.toLocaleString('en')} sleeping (peak)`, value: rssFigure(small) },
      { name: `worker RSS, ${LARGE.toLocaleString('en')} sleeping (peak)`, value: rssFigure(large) },
      { name: 'growth, settled', value: `${growth.toFixed(2)}×`, target: '≤ 1.2×', ok: growth <= 1.2 },
      { name: 'growth, peak to peak', value: `${(large.peak / small.peak).toFixed(2)}×` },
    ],
    [
      `Method: the real worker process; enrollments through the API into a one-step sequence due in 30 days; ` +
        `RSS (VmRSS of the worker process) sampled every second for ${SETTLE_SECONDS} s once every workflow has run its first task; ` +
        `the settled figure is the highest sample of the last 20 s, the peak the highest of the stage. ` +
        `The worker sets V8's heap flags itself at start (worker/heap.ts); without them V8 grew each isolate's heap ` +
        `to several times its live size during a burst of first tasks and gave it back a minute or more later, if at all.`,
      `Worker settings: ${[
        ...Object.entries(stack.env)
          .filter(([k]) => k.startsWith('WORKER_') || k === 'MALLOC_ARENA_MAX')
          .map(([k, v]) => `${k}=${v}`),
        `V8 ${WORKER_HEAP_FLAGS.join(' ')}`,
      ].join(', ')}.`,
    ],
  );
} finally {
  await stack.stop();
}
