/**
 * `nudge import` end to end: the real command against the real API and worker processes, a
 * Temporal dev server and PostgreSQL. Interrupted with Ctrl-C and run again, it enrolls every
 * contact exactly once — even after their enrollments have completed, when enrolling them
 * again would otherwise be allowed (E1/E7).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { Contact, Enrollment } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, repoRoot, startProcess, type NudgeProcess } from '../support/processes.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const ROWS = 400;
const BATCH = 40;
let temporal: TestWorkflowEnvironment;
let db: TestDatabase;
let worker: NudgeProcess;
let api: NudgeProcess;
let baseUrl: string;
let apiKey: string;
let sequenceId: string;
let csvFile: string;
let reportFile: string;

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nudge import`; `interruptAfter` sends Ctrl-C once that many rows are reported done. */
function nudgeImport(interruptAfter?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        'bin/nudge.js',
        'import',
        csvFile,
        '--sequence',
        sequenceId,
        '--api-url',
        baseUrl,
        '--batch-size',
        String(BATCH),
        '--report',
        reportFile,
        '--no-progress',
      ],
      { cwd: repoRoot, env: { ...process.env, NUDGE_API_KEY: apiKey }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const done = [...stderr.matchAll(/^(\d+)\/\d+ rows/gm)].map((m) => Number(m[1]));
      if (interruptAfter !== undefined && !interrupted && done.some((n) => n >= interruptAfter)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  [temporal, db] = await Promise.all([startDevServer(), createTestDatabase()]);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `import-${randomUUID()}`,
    PORT: String(port),
    // Sends unthrottled: the test waits for all 398 enrollments to complete.
    SEND_RATE_PER_SECOND: '0',
  };
  worker = startProcess('worker/main.ts', env);
  api = startProcess('api/main.ts', env);
  apiKey = (await createWorkspaceWithKey(db.orm.em.fork(), 'import')).apiKey.key;
  await eventually(async () => (await fetch(`${baseUrl}/readyz`)).ok, {
    timeoutMs: 90_000,
    what: 'the API',
    detail: () => api.output(),
  });
  // One immediate step: enrollments complete right away, so a second enrollment would be allowed.
  const sequence = await call('POST', '/sequences', {
    name: 'Imported',
    steps: [
      {
        id: 'hello',
        name: 'Hello',
        delay: 'PT0S',
        subject: 'Hello {{ contact.first_name }}',
        html: '<p>Hi</p>',
      },
    ],
  });
  sequenceId = sequence.body.id;
  await call('POST', `/sequences/${sequenceId}/publish`);

  const dir = mkdtempSync(join(tmpdir(), 'nudge-import-'));
  csvFile = join(dir, 'leads.csv');
  reportFile = join(dir, 'report.csv');
  const lines = ['Email,Name,Time Zone,Tags,Company'];
  for (let i = 0; i < ROWS; i++)
    lines.push(`lead-${i}@example.com,Lead ${i},Europe/Paris,imported;trial,Company ${i % 7}`);
  lines[11] = 'not-an-email,Broken,,,'; // line 12 of the file
  lines[21] = 'LEAD-5@example.com,Lead Five Again,,,'; // the same contact as line 7
  writeFileSync(csvFile, `${lines.join('\n')}\n`);
}, 300_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), api?.stop()]);
  await Promise.all([db?.drop(), temporal?.teardown()]);
});

const VALID = ROWS - 2;

async function enrollmentsPerContact() {
  const rows = await db.orm.em.fork().find(Enrollment, { sequence: sequenceId });
  const perContact = new Map<string, number>();
  for (const row of rows) perContact.set(row.contact, (perContact.get(row.contact) ?? 0) + 1);
  return { rows, perContact };
}

test('interrupted with Ctrl-C, then run again: every contact enrolled exactly once, bad rows reported by line', async () => {
  const interrupted = await nudgeImport(BATCH);
  expect(interrupted.stderr).toMatch(/Finishing the batch in flight/);
  expect(interrupted.stderr).toMatch(/Interrupted after \d+ of 400 rows\. Run the same command again/);
  expect(interrupted.code).toBe(130);
  const partial = await enrollmentsPerContact();
  expect(partial.rows.length).toBeGreaterThan(0);
  expect(partial.rows.length).toBeLessThan(VALID);

  const resumed = await nudgeImport();
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toMatch(/Imported 400 rows/);
  expect(resumed.stdout).toMatch(/batch\(es\) had been sent by an earlier run/);
  const { rows, perContact } = await enrollmentsPerContact();
  expect(rows).toHaveLength(VALID);
  expect([...perContact.values()].every((n) => n === 1)).toBe(true);

  const contact = await db.orm.em.fork().findOneOrFail(Contact, { email: 'lead-3@example.com' });
  expect(contact).toMatchObject({
    name: 'Lead 3',
    timeZone: 'Europe/Paris',
    attributes: { Company: 'Company 3' },
  });
  expect(contact.tags).toEqual(['imported', 'trial']);

  const report = readFileSync(reportFile, 'utf8');
  expect(report).toMatch(/^line,contact,status,reason,field,detail\n/);
  expect(report).toMatch(/"12","not-an-email","invalid","validation","\/body\/contacts\/\d+\/email"/);
  expect(report).toMatch(/"22","LEAD-5@example.com","invalid","duplicate"/);
}, 300_000);

test('run again after every enrollment completed: nobody is enrolled a second time', async () => {
  await eventually(
    async () =>
      (await db.orm.em.fork().count(Enrollment, { sequence: sequenceId, status: 'completed' })) === VALID,
    { timeoutMs: 120_000, what: 'every imported enrollment to complete' },
  );
  const again = await nudgeImport();
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/10 batch\(es\) had been sent by an earlier run/);
  const { rows } = await enrollmentsPerContact();
  expect(rows).toHaveLength(VALID);
  expect(rows.every((row) => row.generation === 1 && row.status === 'completed')).toBe(true);
}, 300_000);
