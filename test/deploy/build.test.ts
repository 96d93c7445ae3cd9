/**
 * The production build, as the Dockerfile makes it: `npm run build` compiles to dist/ and
 * prebuilds the workflow bundle; the compiled API and worker then run with plain Node (no
 * tsx, no webpack at start) against a real Temporal dev server and PostgreSQL, and a contact
 * enrolled through the API gets its first email in the development outbox.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, repoRoot, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
const processes: NudgeProcess[] = [];

beforeAll(async () => {
  [temporal, db] = await Promise.all([startDevServer(), createTestDatabase()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all([db?.drop(), temporal?.teardown()]);
});

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

test('npm run build makes a dist/ whose compiled API, CLI and worker (with the prebuilt workflow bundle) send an email end to end', async () => {
  const npm = join(dirname(process.execPath), 'npm');
  run(existsSync(npm) ? npm : 'npm', ['run', 'build']);
  const bundle = join(repoRoot, 'dist', 'workflow-bundle.js');
  for (const file of [
    'api/main.js',
    'cli/main.js',
    'worker/main.js',
    'workflows/index.js',
    'workflow-bundle.js',
  ]) {
    expect(existsSync(join(repoRoot, 'dist', file))).toBe(true);
  }

  const [apiPort, metricsPort, sdkMetricsPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `build-${randomUUID()}`,
    PORT: String(apiPort),
    METRICS_PORT: String(metricsPort),
    TEMPORAL_SDK_METRICS_PORT: String(sdkMetricsPort),
    WORKFLOW_BUNDLE_PATH: bundle,
    LOG_LEVEL: 'info',
  };
  // The README's way to get a first API key, from the compiled CLI.
  const { apiKey } = JSON.parse(
    run(process.execPath, ['dist/cli/main.js', 'workspace', 'create', 'Build test', '--json'], env),
  );
  const worker = startProcess('dist/worker/main.js', env, { compiled: true });
  const api = startProcess('dist/api/main.js', env, { compiled: true });
  processes.push(worker, api);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await eventually(async () => (await fetch(`${apiUrl}/healthz`)).ok, {
    timeoutMs: 60_000,
    what: 'the compiled API',
    detail: () => api.output(),
  });

  const call = async (path: string, body?: unknown) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as any;
  };
  const contact = await call('/contacts', { email: 'ada@example.com', name: 'Ada Lovelace' });
  const sequence = await call('/sequences', {
    name: 'Onboarding',
    steps: [
      {
        id: 'welcome',
        name: 'Welcome',
        delay: 'PT0S',
        subject: 'Welcome, {{ contact.first_name }}',
        html: '<p>Hi</p>',
      },
    ],
  });
  await call(`/sequences/${sequence.id}/publish`);
  await call(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });

  const basic = `Basic ${Buffer.from(`me:${apiKey}`).toString('base64')}`;
  const outbox = await eventually(
    async () => {
      const page = await (await fetch(`${apiUrl}/outbox`, { headers: { authorization: basic } })).text();
      return page.includes('Welcome, Ada') ? page : null;
    },
    { timeoutMs: 60_000, what: 'the email in the outbox', detail: () => worker.output() },
  );
  expect(outbox).toContain('ada@example.com');
  // The worker loaded the prebuilt bundle instead of running webpack at start.
  expect(worker.output()).not.toContain('Workflow bundle created');
  expect(worker.output()).toContain('worker running');
}, 400_000);
