/**
 * Graceful shutdown of the real API process: SIGTERM while a long request is in flight lets
 * that request finish with its full answer, refuses new connections, and exits 0.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { Enrollment, IdempotencyKey } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let api: NudgeProcess;
let baseUrl: string;
let apiKey: string;
let workspaceId: string;

beforeAll(async () => {
  [temporal, db] = await Promise.all([startDevServer(), createTestDatabase()]);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  api = startProcess('api/main.ts', {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `shutdown-${randomUUID()}`,
    PORT: String(port),
    LOG_LEVEL: 'info',
  });
  ({
    workspaceId,
    apiKey: { key: apiKey },
  } = await createWorkspaceWithKey(db.orm.em.fork(), 'shutdown'));
  await eventually(async () => (await fetch(`${baseUrl}/readyz`)).ok, {
    timeoutMs: 90_000,
    what: 'the API',
    detail: () => api.output(),
  });
}, 180_000);

afterAll(async () => {
  await api?.stop('SIGKILL');
  await Promise.all([db?.drop(), temporal?.teardown()]);
});

test('SIGTERM finishes the request in flight (all 1,500 enrollments answered), then exits 0', async () => {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const sequence: any = await (
    await fetch(`${baseUrl}/sequences`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'Shutdown',
        steps: [{ id: 'a', name: 'A', delay: 'P1D', subject: 'Hi', html: '<p>Hi</p>' }],
      }),
    })
  ).json();
  await fetch(`${baseUrl}/sequences/${sequence.id}/publish`, {
    method: 'POST',
    headers: { authorization: headers.authorization },
  });

  const key = randomUUID();
  const contacts = Array.from({ length: 1500 }, (_, i) => ({ email: `shutdown-${i}@example.com` }));
  const inFlight = fetch(`${baseUrl}/sequences/${sequence.id}/enrollments/bulk`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': key },
    body: JSON.stringify({ contacts }),
  });
  // The request has started acting once it has claimed its Idempotency-Key.
  await eventually(
    async () => (await db.orm.em.fork().count(IdempotencyKey, { workspace: workspaceId, key })) === 1,
    {
      what: 'the bulk request to start',
    },
  );
  const exited = api.stop('SIGTERM');

  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(((await response.json()) as any).summary.enrolled).toBe(1500);
  expect(await exited).toBe(0);
  expect(await db.orm.em.fork().count(Enrollment, { sequence: sequence.id })).toBe(1500);
  await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow();
  expect(api.output()).toMatch(/shutting down: finishing in-flight requests/);
}, 180_000);
