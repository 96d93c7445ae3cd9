/**
 * DESIGN §4: workflow changes must not break running histories. Every committed history
 * (test/replay/histories, recorded from real runs of each workflow path by
 * scripts/record-histories) replays through the current workflow code; a change that would
 * make a running enrollment non-deterministic fails here, and must be guarded with `patched()`.
 *
 * Kept from before a change, so that enrollments in flight across it are shown to replay too:
 * every `*-plan-activity*.binpb`, recorded before `loadPlan` ran as a local activity (patch
 * `load-plan-as-local-activity`);
 * `completed-finish-activity.binpb`, recorded before the last step's send completed the
 * enrollment itself (it still ran `finishEnrollment`); `completed-record-progress.binpb` and
 * `pause-resume-record-progress.binpb`, recorded before `loadPlan` mirrored the first step (a
 * `recordProgress` follows it).
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto'; // CommonJS: its namespaces hang off the default export
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../support/temporal.js';

const directory = new URL('./histories/', import.meta.url);

async function committedHistories() {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.binpb')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file,
      history: proto.temporal.api.history.v1.History.decode(await readFile(new URL(file, directory))),
    })),
  );
}

test('§4: every committed history replays through the current workflow code without non-determinism', async () => {
  const histories = await committedHistories();
  // One per workflow path: completed, paused, sequence-paused, cancelled, skipped and resent,
  // edited, expired in a window, deleted, failed, continued as new, and the fan-out; and the
  // paths kept from before a change (above).
  expect(histories.length).toBeGreaterThanOrEqual(15);
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    histories,
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  expect(failures).toEqual([]);
});

test('§4: the replay check fails on an incompatible change (so a passing replay means something)', async () => {
  const incompatible = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./fixtures/incompatible-workflows.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const [completed] = (await committedHistories()).filter((h) => h.workflowId === 'completed.binpb');
  await expect(
    Worker.runReplayHistory({ workflowBundle: incompatible }, completed!.history, 'completed'),
  ).rejects.toBeInstanceOf(DeterminismViolationError);
});
