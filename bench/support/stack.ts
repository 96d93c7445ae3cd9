/**
 * A whole Nudge for a benchmark: Temporal dev server, a fresh PostgreSQL database, the Resend
 * fake in its own process, and the real worker and API processes, started as operators would.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { registerSearchAttributes } from '../../config/temporal.js';
import { spawnFakeResend, type SpawnedFakeResend, type SpawnOptions } from '../../test/fakes/resend-fake.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { freePort, startProcess, type NudgeProcess } from '../../test/support/processes.js';
import { eventually } from '../../test/support/wait.js';
import { startDevServer, type DevServer } from './temporal-dev-server.js';

export interface Stack {
  temporal: DevServer;
  db: TestDatabase;
  fake: SpawnedFakeResend;
  client: Client;
  taskQueue: string;
  apiKey: string;
  workspaceId: string;
  env: Record<string, string>;
  /** Nudge's worker process, or another entry point (a baseline) with the same environment. */
  startWorker(extraEnv?: Record<string, string>, entry?: string): NudgeProcess;
  startApi(extraEnv?: Record<string, string>): Promise<{ process: NudgeProcess; url: string }>;
  stop(): Promise<void>;
}

export async function startStack(
  options: { fake?: SpawnOptions; env?: Record<string, string>; persistentTemporal?: boolean } = {},
): Promise<Stack> {
  const [temporal, db, fake] = await Promise.all([
    startDevServer({ persistent: options.persistentTemporal ?? false }),
    createTestDatabase(),
    spawnFakeResend({ apiKey: 're_bench', recordRequests: false, ...options.fake }),
  ]);
  const connection = await Connection.connect({ address: temporal.address });
  await registerSearchAttributes(connection, 'default');
  const client = new Client({ connection });
  const { workspaceId, apiKey } = await createWorkspaceWithKey(db.orm.em.fork(), 'bench');
  const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESEND_API_KEY: 're_bench',
    RESEND_BASE_URL: fake.url,
    EMAIL_FROM: 'Nudge Bench <bench@nudge.test>',
    LOG_LEVEL: 'warn',
    // The send rate limit (D5) defaults to Resend's 2/s; benchmarks set their own or none.
    SEND_RATE_PER_SECOND: '0',
    // Benchmarks load the API on purpose: the per-key request limit would measure itself.
    RATE_LIMIT_MAX: '1000000',
    // As the image and scripts/dev run the worker (Dockerfile): two glibc malloc arenas.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    ...options.env,
  };
  const processes: NudgeProcess[] = [];

  return {
    temporal,
    db,
    fake,
    client,
    taskQueue,
    apiKey: apiKey.key,
    workspaceId,
    env,
    startWorker(extraEnv = {}, entry = 'worker/main.ts') {
      const worker = startProcess(entry, { ...env, ...extraEnv });
      processes.push(worker);
      return worker;
    },
    async startApi(extraEnv = {}) {
      const port = await freePort();
      const api = startProcess('api/main.ts', { ...env, PORT: String(port), ...extraEnv });
      processes.push(api);
      const url = `http://127.0.0.1:${port}`;
      await eventually(async () => (await fetch(`${url}/healthz`)).ok, {
        timeoutMs: 60_000,
        what: 'the API',
        detail: () => api.output(),
      });
      return { process: api, url };
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop('SIGKILL')));
      await connection.close();
      await Promise.all([fake.stop(), temporal.stop()]);
      await db.drop();
    },
  };
}

export type ApiCall = ReturnType<typeof apiClient>;

/** A small HTTP client for the API with the bench workspace's key. */
export function apiClient(url: string, apiKey: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

/** Creates a sequence through the API and publishes it (S2); returns its id. */
export async function publishSequence(call: ApiCall, sequence: object): Promise<string> {
  const created = await call('POST', '/sequences', sequence);
  if (created.status !== 201) {
    throw new Error(`create sequence: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const published = await call('POST', `/sequences/${created.body.id}/publish`);
  if (published.status !== 200) {
    throw new Error(`publish sequence: ${published.status} ${JSON.stringify(published.body)}`);
  }
  return created.body.id as string;
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function mapConcurrent<T, R>(
  items: T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!, index);
      }
    }),
  );
  return results;
}
