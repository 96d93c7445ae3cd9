/**
 * Schemathesis (from PyPI) against the real API process: every operation of /openapi.json,
 * in every phase, checked for no 5xx and for responses (status, content type, body) that
 * match the document. The API, the worker, a Temporal dev server and PostgreSQL are real.
 *
 * Rows are seeded under the id the document uses as its uuid example, so Schemathesis's
 * example phase reaches real contacts, sequences and enrollments, not only 404s; the
 * stateful phase follows the `Location` headers of what it creates.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { issueApiKey, createWorkspaceWithKey } from '../../api/keys.js';
import { UUID_EXAMPLE } from '../../api/schemas/common.js';
import { Contact, Enrollment, Sequence, SequenceVersion } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, repoRoot, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { threeSteps } from '../support/world.js';

const run = promisify(execFile);
let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let worker: NudgeProcess;
let api: NudgeProcess;
let baseUrl: string;
let apiKey: string;
let schemathesis: string;

/** The `st` executable: SCHEMATHESIS_PATH, or the cached virtualenv scripts/schemathesis.sh makes. */
async function findSchemathesis(): Promise<string> {
  if (process.env.SCHEMATHESIS_PATH) return process.env.SCHEMATHESIS_PATH;
  const { stdout } = await run('bash', ['scripts/schemathesis.sh'], { cwd: repoRoot, timeout: 600_000 });
  return stdout.trim().split('\n').at(-1)!;
}

/**
 * Schemathesis closes its report with a pytest-style rule ("==== 3 warnings in 95.80s ====").
 * CI reads such a line as pytest's closing count, finds no test in it and records the whole
 * run as having run none, so the echoed summary leaves it out (Jest's count is the real one).
 */
function withoutClosingRule(report: string): string {
  return report
    .split('\n')
    .filter((line) => !/^=+ .* =+$/.test(line.trim()))
    .join('\n')
    .trimEnd();
}

/** A failing case's `curl` line can carry a body of megabytes: keep each line readable. */
function withoutHugeLines(report: string, maxLength = 2000): string {
  return report
    .split('\n')
    .map((line) =>
      line.length > maxLength ? `${line.slice(0, maxLength)} … [${line.length} characters]` : line,
    )
    .join('\n');
}

async function seed(workspaceId: string) {
  const em = db.orm.em.fork();
  const steps = threeSteps();
  em.create(Contact, {
    id: UUID_EXAMPLE,
    workspace: workspaceId,
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    attributes: {},
    tags: ['lead'],
  });
  em.create(Sequence, {
    id: UUID_EXAMPLE,
    workspace: workspaceId,
    name: 'Onboarding',
    status: 'active',
    draftSteps: steps,
    liveVersion: 1,
    triggerTags: [],
    exitTags: [],
  });
  em.create(SequenceVersion, { sequence: UUID_EXAMPLE, version: 1, steps });
  em.create(Enrollment, {
    id: UUID_EXAMPLE,
    workspace: workspaceId,
    sequence: UUID_EXAMPLE,
    contact: UUID_EXAMPLE,
    generation: 1,
    status: 'active',
    workflowId: `enrollment:${UUID_EXAMPLE}:${UUID_EXAMPLE}`,
  });
  await em.flush();
  const spare = await issueApiKey(db.orm.em.fork(), workspaceId, 'spare');
  await db.orm.em
    .fork()
    .getConnection()
    .execute('update api_key set id = ? where id = ?', [UUID_EXAMPLE, spare.id]);
}

beforeAll(async () => {
  [schemathesis, temporal, db] = await Promise.all([
    findSchemathesis(),
    startDevServer(),
    createTestDatabase(),
  ]);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `schemathesis-${randomUUID()}`,
    PORT: String(port),
    // Schemathesis sends thousands of requests with one key; the limiter has its own tests.
    RATE_LIMIT_MAX: '1000000',
    // Webhooks set up as in production: unsigned fuzz requests must get a 401, not a 503.
    RESEND_WEBHOOK_SECRET: `whsec_${Buffer.from(randomUUID()).toString('base64')}`,
    LOG_LEVEL: 'error',
  };
  worker = startProcess('worker/main.ts', env);
  api = startProcess('api/main.ts', env);
  const created = await createWorkspaceWithKey(db.orm.em.fork(), 'schemathesis');
  apiKey = created.apiKey.key;
  await seed(created.workspaceId);
  await eventually(async () => (await fetch(`${baseUrl}/readyz`)).ok, {
    timeoutMs: 90_000,
    what: 'the API to be ready',
    detail: () => api.output(),
  });
}, 600_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), api?.stop()]);
  await Promise.all([db?.drop(), temporal?.teardown()]);
});

test('Schemathesis: every operation, every phase — no 5xx, and every response matches the document', async () => {
  const args = [
    '--config-file',
    'test/contract/schemathesis.toml',
    'run',
    `${baseUrl}/openapi.json`,
    '--header',
    `Authorization: Bearer ${apiKey}`,
    '--seed',
    process.env.SCHEMATHESIS_SEED ?? '20261125',
    '--no-color',
  ];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(schemathesis, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      // test/contract/schemathesis_hooks.py: a fresh Idempotency-Key for each generated request.
      env: { ...process.env, SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: 'test/contract' },
    });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.stderr.on('data', (chunk) => (text += chunk));
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve({ code: exitCode, output: text }));
  });
  const shown = output.replaceAll(apiKey, '[key]');
  // The whole report on failure; the summary (operations, phases, checks, cases) otherwise.
  process.stdout.write(
    code === 0
      ? `\nSchemathesis ${withoutClosingRule(shown.slice(shown.indexOf('SUMMARY')))}\n`
      : withoutHugeLines(shown),
  );
  const tested = /Tested: (\d+)/.exec(output);
  const selected = /Selected: (\d+)\/(\d+)/.exec(output);
  expect({ exitCode: code, summary: output.split('SUMMARY').at(-1)?.trim().slice(0, 2000) }).toMatchObject({
    exitCode: 0,
  });
  expect(selected?.[1]).toBe(selected?.[2]);
  expect(tested?.[1]).toBe(selected?.[2]);
  expect(api.output()).not.toMatch(/"level":50/);
}, 900_000);
