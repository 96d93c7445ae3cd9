/**
 * The `nudge` command line's workspace and key commands, run as a real process against a
 * real PostgreSQL, with the keys they print used against the API.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildApp } from '../../api/app.js';
import { ApiKey } from '../../db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { expectProblem, type App } from '../support/http.js';
import { repoRoot } from '../support/processes.js';
import { silentLogger } from '../support/world.js';

const run = promisify(execFile);
let db: TestDatabase;
let app: App;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildApp({
    orm: db.orm,
    temporal: { client: null as never, taskQueue: 'unused' },
    logger: silentLogger,
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

function nudge(...args: string[]) {
  return run(process.execPath, ['bin/nudge.js', ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: db.url },
  });
}

const listContacts = (key: string) =>
  app.inject({ url: '/contacts', headers: { authorization: `Bearer ${key}` } });

test('`nudge workspace create` prints a working key once; the database keeps only its hash', async () => {
  const { stdout, stderr } = await nudge('workspace', 'create', 'Acme', 'Corp');
  const key = /API key: (nudge_\S+)/.exec(stdout)?.[1];
  expect(key).toBeDefined();
  expect(stdout).toMatch(/Workspace "Acme Corp" created: [0-9a-f-]{36}/);
  expect(stderr).toMatch(/shown only this once/);
  expect((await listContacts(key!)).statusCode).toBe(200);
  const rows = await db.orm.em.fork().find(ApiKey, {});
  expect(rows.some((row) => JSON.stringify(row).includes(key!))).toBe(false);
}, 60_000);

test('`nudge keys create/list/revoke`: a second key works until revoked; `--json` is machine-readable', async () => {
  const created = JSON.parse((await nudge('workspace', 'create', 'Globex', '--json')).stdout);
  expect(created).toEqual({ workspaceId: expect.any(String), apiKey: expect.stringMatching(/^nudge_/) });

  const second = JSON.parse(
    (await nudge('keys', 'create', 'CRM', '--workspace', created.workspaceId, '--json')).stdout,
  );
  expect((await listContacts(second.apiKey)).statusCode).toBe(200);

  const listed = (await nudge('keys', 'list', '-w', created.workspaceId)).stdout;
  expect(listed).toMatch(/first key/);
  expect(listed).toMatch(new RegExp(`${second.id} +\\S+ +CRM +\\(active, last used`));
  expect(listed).not.toContain(second.apiKey);

  const revoked = await nudge('keys', 'revoke', second.id);
  expect(revoked.stdout).toMatch(/Revoked/);
  expectProblem(await listContacts(second.apiKey), 401);
  expect((await listContacts(created.apiKey)).statusCode).toBe(200);
  expect((await nudge('keys', 'list', '-w', created.workspaceId)).stdout).toMatch(/CRM +\(revoked/);
}, 60_000);

test('bad arguments are refused with a message and a non-zero exit, touching nothing', async () => {
  await expect(nudge('keys', 'list', '--workspace', 'not-an-id')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/expected an id/),
  });
  await expect(nudge('keys', 'revoke', '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/No API key/),
  });
  await expect(nudge('workspace', 'create')).rejects.toMatchObject({ code: 1 });
}, 60_000);
