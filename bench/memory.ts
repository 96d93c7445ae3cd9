/**
 * Memory: the worker's resident set size with 1,000 and then 10,000 sleeping enrollments
 * (each waiting 30 days for its first step). Target: growth ≤ 1.2×.
 */
import { readFileSync } from 'node:fs';
import { Enrollment } from '../db/entities/index.js';
import { eventually } from '../test/support/wait.js';
import { fmt, writeResults } from './support/results.js';
import { seedContacts } from './support/seed.js';
import { apiClient, mapConcurrent, publishSequence, startStack } from './support/stack.js';

const SMALL = Number(process.env.BENCH_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_LARGE ?? 10000);

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) * 1024;
}

/** The settled RSS: sampled for a while once every workflow sleeps; the highest sample counts. */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    samples.push(rssOf(pid));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return Math.max(...samples);
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
  const growth = large / small;

  await writeResults(
    'memory',
    'Memory: worker RSS with sleeping enrollments',
    [
      { name: 'worker RSS, idle', value: fmt.mib(idle) },
      { name: `worker RSS, ${SMALL.toLocaleString('en')} sleeping`, value: fmt.mib(small) },
      { name: `worker RSS, ${LARGE.toLocaleString('en')} sleeping`, value: fmt.mib(large) },
      { name: 'growth', value: `${growth.toFixed(2)}×`, target: '≤ 1.2×', ok: growth <= 1.2 },
    ],
    [
      `Method: the real worker process; enrollments through the API into a one-step sequence due in 30 days; ` +
        `RSS (VmRSS of the worker process) sampled for 10 s once every workflow has run its first task, highest sample reported.`,
      `Worker settings: ${
        Object.entries(stack.env)
          .filter(([k]) => k.startsWith('WORKER_'))
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || 'defaults'
      }.`,
    ],
  );
} finally {
  await stack.stop();
}
