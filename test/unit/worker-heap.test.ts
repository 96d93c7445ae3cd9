/**
 * The worker keeps its V8 heaps near what stays live through a burst (worker/heap.ts): the
 * workflow threads the SDK creates after it ran get a small young generation. Run in a child
 * process, as the worker does, so the flags never reach the test runner's own heap.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../support/processes.js';

/** The new space of a worker thread started after `tune` ran, once it has churned garbage. */
async function threadNewSpaceMiB(tune: boolean): Promise<number> {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { keepWorkerHeapsNearLive } from './worker/heap.ts';
    if (${tune}) keepWorkerHeapsNearLive();
    const churn = \`
      import v8 from 'node:v8';
      import { parentPort } from 'node:worker_threads';
      const live = [];
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 100000; i++) { const o = { i, s: 'x' + i }; if (i % 50 === 0) live.push(o); }
        if (live.length > 40000) live.splice(0, 20000);
      }
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      parentPort.postMessage(space.space_size);
    \`;
    // The thread's code is a module, as --input-type says for the whole process.
    new Worker(churn, { eval: true }).once('message', (bytes) => console.log(bytes));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { cwd: repoRoot },
  );
  return Number(stdout.trim()) / 2 ** 20;
}

test('a workflow thread started after the worker tuned its heaps grows its young generation to 8 MiB at most, not V8’s default', async () => {
  const [tuned, untuned] = await Promise.all([threadNewSpaceMiB(true), threadNewSpaceMiB(false)]);
  // Two semi-spaces of --max-semi-space-size=4.
  expect(tuned).toBeGreaterThan(0);
  expect(tuned).toBeLessThanOrEqual(8);
  // Without it the same churn grows the young generation past that (64 MiB on Node 24 here).
  expect(untuned).toBeGreaterThan(8);
});
