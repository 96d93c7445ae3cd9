/**
 * The sequence fan-out activity against a real PostgreSQL, with a recording stand-in for the
 * Temporal client: enough enrollments for several pages, so what happens at page boundaries
 * (the position it heartbeats, what a retry tells again) is exercised.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createFanOut } from '../../activities/fanout.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { createSequence } from '../../api/services/sequences.js';
import type { SequenceFanOutInput } from '../../workflows/fanout-types.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const LIVE = 1234; // three pages of 500
const CONCURRENCY = 20;

let db: TestDatabase;
let input: SequenceFanOutInput;
let liveIds: string[];
let endedIds: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  const { workspaceId } = await createWorkspaceWithKey(db.orm.em.fork(), 'fan-out tests');
  const sequence = await createSequence(
    { em: db.orm.em.fork(), workspaceId, temporal: null as never },
    { name: 'Fan-out', steps: [{ id: 'one', name: 'One', delay: 'P1D', subject: 'Hi', html: '<p>Hi</p>' }] },
  );
  input = { workspaceId, sequenceId: sequence.id, action: 'pause', revision: 2 };
  const rows = Array.from({ length: LIVE + 10 }, (_, i) => ({
    contact: randomUUID(),
    status: i < LIVE ? (i % 7 === 0 ? 'paused' : 'active') : 'completed',
  }));
  const connection = db.orm.em.getConnection();
  await connection.execute(
    `insert into contact (id, workspace_id, email, created_at, updated_at)
     select (c->>'contact')::uuid, ?, (c->>'contact') || '@example.com', now(), now() from jsonb_array_elements(?::jsonb) c`,
    [workspaceId, JSON.stringify(rows)],
  );
  await connection.execute(
    `insert into enrollment (id, workspace_id, sequence_id, contact_id, generation, status, workflow_id, created_at, updated_at)
     select gen_random_uuid(), ?, ?, (c->>'contact')::uuid, 1, c->>'status', 'enrollment:' || ? || ':' || (c->>'contact'), now(), now()
     from jsonb_array_elements(?::jsonb) c`,
    [workspaceId, sequence.id, sequence.id, JSON.stringify(rows)],
  );
  const workflowId = (contact: string) => `enrollment:${sequence.id}:${contact}`;
  liveIds = rows.filter((r) => r.status !== 'completed').map((r) => workflowId(r.contact));
  endedIds = rows.filter((r) => r.status === 'completed').map((r) => workflowId(r.contact));
}, 60_000);

afterAll(() => db?.drop());

/** A Temporal client whose signals are recorded; `fail` decides, per workflow id, what a signal does. */
function recordingClient(fail: (workflowId: string) => Error | null = () => null) {
  const told: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        async signal(definition: { name: string }, request: unknown) {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight -= 1;
          const error = fail(workflowId);
          if (error) throw error;
          expect(definition.name).toBe('pause');
          expect(request).toEqual({ source: 'sequence', revision: 2 });
          told.push(workflowId);
        },
      }),
    },
  };
  return { client: client as unknown as Client, told, maxInFlight: () => maxInFlight };
}

function run(client: Client, heartbeatDetails?: unknown) {
  const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails } : {});
  const heartbeats: any[] = [];
  env.on('heartbeat', (details) => heartbeats.push(details)); // as sent: they must not change after
  const fanOut = createFanOut({ orm: db.orm, temporal: client, fanOutConcurrency: CONCURRENCY });
  return { result: env.run(fanOut, input), heartbeats };
}

test('S3: the fan-out tells every live enrollment once, across pages, within its concurrency; ended ones are not told', async () => {
  const gone = new Set(liveIds.slice(0, 3));
  const recording = recordingClient((id) =>
    gone.has(id) ? new WorkflowNotFoundError('ended', id, undefined) : null,
  );
  const { result, heartbeats } = run(recording.client);

  await expect(result).resolves.toEqual({ reached: LIVE - 3, gone: 3 });
  expect(recording.told.sort()).toEqual(liveIds.filter((id) => !gone.has(id)).sort());
  expect(recording.told.some((id) => endedIds.includes(id))).toBe(false);
  expect(recording.maxInFlight()).toBeLessThanOrEqual(CONCURRENCY);
  // One heartbeat per page, each counting whole pages only.
  expect(heartbeats.map((h) => h.reached + h.gone)).toEqual([500, 1000, LIVE]);
});

test('S3: after a failed signal, the retry continues from the last page wholly told', async () => {
  // A signal in the third page fails: the first two pages were told whole.
  const rows = await db.orm.em
    .getConnection()
    .execute<{ workflow_id: string }[]>(
      `select workflow_id from enrollment where status in ('active', 'paused') order by id offset 1100 limit 1`,
    );
  const failing = rows[0]!.workflow_id;
  const first = recordingClient((id) => (id === failing ? new Error('Temporal unavailable') : null));
  const attempt = run(first.client);
  await expect(attempt.result).rejects.toThrow('Temporal unavailable');
  const position = attempt.heartbeats.at(-1);
  expect(position.reached).toBe(1000);

  const second = recordingClient();
  const retry = run(second.client, position);
  await expect(retry.result).resolves.toEqual({ reached: LIVE, gone: 0 });
  // The retry tells everything after the position, and nothing before it again.
  expect(second.told.length).toBe(LIVE - 1000);
  expect(new Set([...first.told, ...second.told])).toEqual(new Set(liveIds));
});
