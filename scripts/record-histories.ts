/**
 * Records the replay test's histories (test/replay/histories/*.binpb): one real run of each
 * workflow path (test/replay/scenarios.ts) on the time-skipping server, with the real
 * activities and PostgreSQL. Run `scripts/record-histories [name …]` after a deliberate
 * workflow change has been guarded with `patched()`, to add histories of the new code; keep
 * the old files, they are what running enrollments look like.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto'; // CommonJS: its namespaces hang off the default export
import type { OutgoingEmail, SendOutcome } from '../email/sender.js';
import { scenarios } from '../test/replay/scenarios.js';
import { RecordingSender } from '../test/support/recording-sender.js';
import { startTimeSkippingServer } from '../test/support/temporal.js';
import { startWorld } from '../test/support/world.js';

/** Records like a provider, and refuses one address for good (the D4 path). */
class RefusingSender extends RecordingSender {
  override async send(email: OutgoingEmail, key: string): Promise<SendOutcome> {
    if (email.to.startsWith('invalid-recipient@')) {
      return { ok: false, kind: 'permanent', failure: 'invalid_recipient', reason: 'invalid `to` address' };
    }
    return super.send(email, key);
  }
}

const directory = new URL('../test/replay/histories/', import.meta.url);
const wanted = process.argv.slice(2);
const env = await startTimeSkippingServer();
const world = await startWorld(env, new RefusingSender(() => env.currentTimeMs()));
try {
  await mkdir(directory, { recursive: true });
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const runs = await scenario(world, env);
    for (const [index, run] of runs.entries()) {
      const history = await env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const file = new URL(`${name}${runs.length > 1 ? `.${index + 1}` : ''}.binpb`, directory);
      // Binary protobuf, the History message as the server sends it. (The SDK's JSON helpers
      // trip over the two copies of protobufjs npm installs for @temporalio/common and /proto.)
      const message = proto.temporal.api.history.v1.History.fromObject(history);
      await writeFile(file, proto.temporal.api.history.v1.History.encode(message).finish());
      console.log(`recorded ${file.pathname} (${history.events?.length ?? 0} events)`);
    }
  }
} finally {
  await world.close();
  await env.teardown();
}
