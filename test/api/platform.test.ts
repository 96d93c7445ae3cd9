/**
 * The API as a platform for other programs (issue 5): API keys, idempotent POSTs, rate
 * limits, body limits, health, problem+json for every kind of bad request — through
 * `app.inject` (and a real socket where Node itself rejects the request), against a real
 * PostgreSQL and the time-skipping Temporal server.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp, type AppDeps } from '../../api/app.js';
import { requestHash } from '../../api/http/idempotency.js';
import { ApiKey, Contact, Enrollment, IdempotencyKey } from '../../db/entities/index.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

let env: TestWorkflowEnvironment;
let world: World;
let app: App;
const apps: App[] = [];

async function makeApp(overrides: Partial<AppDeps> = {}): Promise<App> {
  const built = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
    ...overrides,
  });
  apps.push(built);
  return built;
}

beforeAll(async () => {
  env = await startTimeSkippingServer();
  world = await startWorld(env, new RecordingSender());
  app = await makeApp();
}, 120_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await world?.close();
  await env?.teardown();
});

const newWorkspace = async () => (await world.workspace()).apiKey;
const email = () => `${randomUUID().slice(0, 8)}@example.com`;

describe('API keys', () => {
  test('a new key is shown once, listed only by prefix, works at once, and is refused (401) once revoked', async () => {
    const admin = apiClient(app, await newWorkspace());
    const created = await admin.post('/api-keys', { name: 'CRM' });
    expect(created.statusCode).toBe(201);
    const issued = created.json();
    expect(issued.key).toMatch(/^nudge_[A-Za-z0-9_-]{40,}$/);
    expect(issued.key.startsWith(issued.prefix)).toBe(true);

    const stored = await world.db.orm.em.fork().findOneOrFail(ApiKey, issued.id);
    expect(stored.hash).not.toContain(issued.key);
    expect(JSON.stringify(stored)).not.toContain(issued.key);

    const listed = (await admin.get('/api-keys')).json();
    expect(listed.data.map((k: any) => k.name).sort()).toEqual(['CRM', 'first key']);
    expect(JSON.stringify(listed)).not.toContain(issued.key);

    const crm = apiClient(app, issued.key);
    expect((await crm.post('/contacts', { email: email() })).statusCode).toBe(201);

    const revoked = await admin.delete(`/api-keys/${issued.id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    expectProblem(await crm.post('/contacts', { email: email() }), 401);
    expectProblem(await crm.get('/contacts'), 401);
    // The key that revoked it still works; revoking twice changes nothing.
    const again = await admin.delete(`/api-keys/${issued.id}`);
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt);
  });

  test('missing, malformed and unknown keys are 401 problems that say how to authenticate', async () => {
    for (const authorization of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer nudge_unknown']) {
      const response = await app.inject({
        method: 'GET',
        url: '/contacts',
        headers: authorization === undefined ? {} : { authorization },
      });
      const problem = expectProblem(response, 401);
      expect(problem.type).toBe('urn:nudge:problem:unauthorized');
      expect(problem.detail).toMatch(/Authorization: Bearer/);
    }
  });

  test('a key cannot revoke itself (409): a workspace cannot lock itself out by accident', async () => {
    const apiKey = await newWorkspace();
    const client = apiClient(app, apiKey);
    const own = (await client.get('/api-keys')).json().data[0];
    const refused = expectProblem(await client.delete(`/api-keys/${own.id}`), 409, '/params/apiKeyId');
    expect(refused.type).toBe('urn:nudge:problem:cannot-revoke-current-key');
    expect((await client.get('/contacts')).statusCode).toBe(200);
  });

  test('a workspace cannot see or revoke the keys of another', async () => {
    const a = apiClient(app, await newWorkspace());
    const b = apiClient(app, await newWorkspace());
    const bKeys = (await b.get('/api-keys')).json().data;
    expectProblem(await a.delete(`/api-keys/${bKeys[0].id}`), 404);
    expect((await b.get('/contacts')).statusCode).toBe(200);
  });
});

describe('Idempotency-Key', () => {
  test('the same key and body returns the first response, marked as replayed, and acts once', async () => {
    const client = apiClient(app, await newWorkspace());
    const body = { email: email(), name: 'Ada' };
    const key = randomUUID();
    const first = await client.post('/contacts', body, { 'idempotency-key': key });
    const second = await client.post(
      '/contacts',
      { name: 'Ada', email: body.email },
      { 'idempotency-key': key },
    );
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers.location).toBe(first.headers.location);
    expect(await world.db.orm.em.fork().count(Contact, { email: body.email })).toBe(1);
  });

  test('the same key with another body is a 422 naming the header, and nothing is done', async () => {
    const client = apiClient(app, await newWorkspace());
    const key = randomUUID();
    expect((await client.post('/contacts', { email: email() }, { 'idempotency-key': key })).statusCode).toBe(
      201,
    );
    const other = email();
    const reused = await client.post('/contacts', { email: other }, { 'idempotency-key': key });
    const problem = expectProblem(reused, 422, '/headers/idempotency-key');
    expect(problem.type).toBe('urn:nudge:problem:idempotency-key-reused');
    expect(await world.db.orm.em.fork().count(Contact, { email: other })).toBe(0);
    // ... and so is the same key on another route.
    expectProblem(await client.post('/api-keys', { name: 'x' }, { 'idempotency-key': key }), 422);
  });

  test('concurrent duplicates all get the first response and the work happens once', async () => {
    const client = apiClient(app, await newWorkspace());
    const body = { email: email() };
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => client.post('/contacts', body, { 'idempotency-key': key })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(12).fill(201));
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(await world.db.orm.em.fork().count(Contact, { email: body.email })).toBe(1);
  });

  test('E10: concurrent duplicate enrollments with one key start one workflow and give one answer', async () => {
    const { ctx, apiKey } = await world.workspace();
    const client = apiClient(app, apiKey);
    const sequence = await world.publishedSequence({}, ctx);
    const contact = await world.contact({}, ctx);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.post(
          `/sequences/${sequence.id}/enrollments`,
          { contactId: contact.id },
          { 'idempotency-key': key },
        ),
      ),
    );
    expect(new Set(responses.map((r) => `${r.statusCode} ${r.body}`)).size).toBe(1);
    expect(responses[0]!.statusCode).toBe(201);
    expect(await world.db.orm.em.fork().count(Enrollment, { contact: contact.id })).toBe(1);
  });

  test('concurrent duplicates with different bodies: one acts, the others are 422', async () => {
    const client = apiClient(app, await newWorkspace());
    const key = randomUUID();
    const emails = Array.from({ length: 6 }, email);
    const responses = await Promise.all(
      emails.map((e) => client.post('/contacts', { email: e }, { 'idempotency-key': key })),
    );
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 422)).toHaveLength(5);
    expect(await world.db.orm.em.fork().count(Contact, { email: { $in: emails } })).toBe(1);
  });

  test('keys are per workspace: the same key in two workspaces acts in each', async () => {
    const key = randomUUID();
    const body = { email: email() };
    const a = await apiClient(app, await newWorkspace()).post('/contacts', body, { 'idempotency-key': key });
    const b = await apiClient(app, await newWorkspace()).post('/contacts', body, { 'idempotency-key': key });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
  });

  test('a request refused by validation does not use up the key', async () => {
    const client = apiClient(app, await newWorkspace());
    const key = randomUUID();
    expectProblem(
      await client.post('/contacts', { email: 'nope' }, { 'idempotency-key': key }),
      400,
      '/body/email',
    );
    expect((await client.post('/contacts', { email: email() }, { 'idempotency-key': key })).statusCode).toBe(
      201,
    );
  });

  test('a 5xx is not stored: retrying with the same key really retries', async () => {
    const { ctx, apiKey } = await world.workspace();
    const sequence = await world.publishedSequence({}, ctx);
    const contact = await world.contact({}, ctx);
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
    const down = await makeApp({
      temporal: {
        client: {
          workflow: {
            start: async () => {
              throw unavailable;
            },
          },
        } as never,
        taskQueue: world.taskQueue,
      },
    });
    const key = randomUUID();
    const url = `/sequences/${sequence.id}/enrollments`;
    const failed = await apiClient(down, apiKey).post(
      url,
      { contactId: contact.id },
      { 'idempotency-key': key },
    );
    const problem = expectProblem(failed, 503);
    expect(problem.type).toBe('urn:nudge:problem:unavailable');
    expect(failed.headers['retry-after']).toBeDefined();
    // Nothing half-written: the failed start left no enrollment behind.
    expect(await world.db.orm.em.fork().count(Enrollment, { contact: contact.id })).toBe(0);

    const retried = await apiClient(app, apiKey).post(
      url,
      { contactId: contact.id },
      { 'idempotency-key': key },
    );
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });

  test('stored responses survive a restart of the API', async () => {
    const apiKey = await newWorkspace();
    const key = randomUUID();
    const body = { email: email() };
    const first = await apiClient(app, apiKey).post('/contacts', body, { 'idempotency-key': key });
    const restarted = await makeApp();
    const replayed = await apiClient(restarted, apiKey).post('/contacts', body, { 'idempotency-key': key });
    expect(replayed.body).toBe(first.body);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
  });

  test('a duplicate of a request still running past the wait gets 409 with retry-after', async () => {
    const { ctx, apiKey } = await world.workspace();
    const body = { email: email() };
    const key = randomUUID();
    // A claim held by a request that is still running (in another API process, say).
    await world.db.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into idempotency_key (workspace_id, key, request_hash, method, path, state, locked_at, created_at)
         values (?, ?, ?, 'POST', '/contacts', 'in_progress', now(), now())`,
        [ctx.workspaceId, key, requestHash('POST', '/contacts', body)],
      );
    const impatient = await makeApp({ limits: { idempotencyWaitMs: 200 } });
    const response = await apiClient(impatient, apiKey).post('/contacts', body, { 'idempotency-key': key });
    const problem = expectProblem(response, 409, '/headers/idempotency-key');
    expect(problem.type).toBe('urn:nudge:problem:idempotency-key-in-progress');
    expect(response.headers['retry-after']).toBe('1');
    expect(await world.db.orm.em.fork().count(Contact, { email: body.email })).toBe(0);
  });

  test('a claim abandoned by a crashed process is taken over after it goes stale', async () => {
    const { ctx, apiKey } = await world.workspace();
    const body = { email: email() };
    const key = randomUUID();
    await world.db.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into idempotency_key (workspace_id, key, request_hash, method, path, state, locked_at, created_at)
         values (?, ?, ?, 'POST', '/contacts', 'in_progress', now() - interval '1 hour', now() - interval '1 hour')`,
        [ctx.workspaceId, key, requestHash('POST', '/contacts', body)],
      );
    const response = await apiClient(app, apiKey).post('/contacts', body, { 'idempotency-key': key });
    expect(response.statusCode).toBe(201);
    const row = await world.db.orm.em
      .fork()
      .findOneOrFail(IdempotencyKey, { workspace: ctx.workspaceId, key });
    expect(row.state).toBe('completed');
  });

  test('past its retention (24 h), a key is forgotten: the same request acts again', async () => {
    const { ctx, apiKey } = await world.workspace();
    const body = { email: email() };
    const key = randomUUID();
    await world.db.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into idempotency_key (workspace_id, key, request_hash, method, path, state, locked_at, created_at,
                                    response_status, response_headers, response_body, completed_at)
         values (?, ?, ?, 'POST', '/contacts', 'completed', now() - interval '25 hours', now() - interval '25 hours',
                 201, '{}', '{"stale":true}', now() - interval '25 hours')`,
        [ctx.workspaceId, key, requestHash('POST', '/contacts', body)],
      );
    const response = await apiClient(app, apiKey).post('/contacts', body, { 'idempotency-key': key });
    expect(response.statusCode).toBe(201);
    expect(response.json().email).toBe(body.email);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
  });

  test('an Idempotency-Key that is not a printable token is a 400 naming the header', async () => {
    const client = apiClient(app, await newWorkspace());
    const tooLong = 'k'.repeat(256);
    expectProblem(
      await client.post('/contacts', { email: email() }, { 'idempotency-key': tooLong }),
      400,
      '/headers/idempotency-key',
    );
    expectProblem(
      await client.post('/contacts', { email: email() }, { 'idempotency-key': 'has space' }),
      400,
      '/headers/idempotency-key',
    );
  });
});

describe('rate limits', () => {
  test('each API key has its own budget; past it, 429 problems with retry-after; health is never limited', async () => {
    const limited = await makeApp({ limits: { rateLimit: { max: 3, windowMs: 60_000 } } });
    const first = apiClient(limited, await newWorkspace());
    const second = apiClient(limited, await newWorkspace());
    for (let i = 0; i < 3; i++) expect((await first.get('/contacts')).statusCode).toBe(200);
    const refused = await first.get('/contacts');
    const problem = expectProblem(refused, 429);
    expect(problem.type).toBe('urn:nudge:problem:rate-limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expectProblem(await first.post('/contacts', { email: email() }), 429);
    expect((await second.get('/contacts')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await limited.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('hostile input', () => {
  test('a body over the limit is a 413 problem; a body that is not JSON is a 415 problem', async () => {
    const small = await makeApp({ limits: { bodyLimitBytes: 2048 } });
    const client = apiClient(small, await newWorkspace());
    const big = await client.post('/contacts', {
      email: email(),
      name: 'x'.repeat(150),
      attributes: { blob: 'y'.repeat(4000) },
    });
    expect(expectProblem(big, 413).type).toBe('urn:nudge:problem:body-too-large');
    const text = await small.inject({
      method: 'POST',
      url: '/contacts',
      headers: { authorization: `Bearer ${await newWorkspace()}`, 'content-type': 'text/plain' },
      payload: 'email=a@example.com',
    });
    expect(expectProblem(text, 415, '/headers/content-type').type).toBe(
      'urn:nudge:problem:unsupported-media-type',
    );
  });

  test.each([
    ['truncated JSON', '{"email": '],
    ['JSON with a prototype-polluting key', '{"email":"a@example.com","__proto__":{"admin":true}}'],
    ['an empty body', ''],
  ])('%s is a 400 problem', async (_what, payload) => {
    const response = await app.inject({
      method: 'POST',
      url: '/contacts',
      headers: { authorization: `Bearer ${world.apiKey}`, 'content-type': 'application/json' },
      payload,
    });
    expectProblem(response, 400);
  });

  test('NUL characters, which PostgreSQL text cannot hold, are 400 problems naming the field', async () => {
    const client = apiClient(app, world.apiKey);
    expectProblem(await client.post('/contacts', { email: email(), name: 'Ada\u0000' }), 400, '/body/name');
    expectProblem(
      await client.post('/contacts', { email: email(), attributes: { 'bad\u0000key': 1 } }),
      400,
      '/body/attributes/bad\u0000key',
    );
    expectProblem(await client.get('/contacts?email=a%00b@example.com'), 400, '/query/email');
  });

  test('unknown query parameters, bad cursors and malformed ids are 400 problems naming the field', async () => {
    const client = apiClient(app, world.apiKey);
    expectProblem(await client.get('/contacts?colour=blue'), 400, '/query/colour');
    expectProblem(await client.get('/contacts?cursor=bm90LWEtY3Vyc29y'), 400, '/query/cursor');
    expectProblem(await client.get('/contacts?limit=0'), 400, '/query/limit');
    expectProblem(await client.get('/enrollments?status=sleeping'), 400);
    expectProblem(await client.get('/enrollments/not-a-uuid'), 400, '/params/enrollmentId');
  });

  test('a request Node itself cannot parse still gets a problem+json answer', async () => {
    const listening = await makeApp();
    await listening.listen({ host: '127.0.0.1', port: 0 });
    const { port } = listening.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /contacts HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/i);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(body).toMatchObject({ type: 'urn:nudge:problem:malformed-request', status: 400 });
  });

  test('an unknown route is a 404 problem, with or without a key', async () => {
    expectProblem(await app.inject({ url: '/nowhere' }), 404);
    expectProblem(await apiClient(app, world.apiKey).get('/nowhere'), 404);
  });

  test('a method a path does not support is a 405 problem listing the ones it does', async () => {
    const patch = await app.inject({ method: 'PATCH', url: '/contacts', payload: {} });
    expect(expectProblem(patch, 405).type).toBe('urn:nudge:problem:method-not-allowed');
    expect(patch.headers.allow).toBe('GET, HEAD, POST');
    const put = await app.inject({ method: 'PUT', url: `/enrollments/${randomUUID()}/pause` });
    expectProblem(put, 405);
    expect(put.headers.allow).toBe('POST');
  });
});

describe('the contract, served', () => {
  test('/openapi.json is OpenAPI 3.1 and /docs serves Swagger UI, both without a key', async () => {
    const document = (await app.inject({ url: '/openapi.json' })).json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.apiKey).toEqual({ type: 'http', scheme: 'bearer' });
    const docs = await app.inject({ url: '/docs' });
    const page = docs.statusCode === 302 ? await app.inject({ url: String(docs.headers.location) }) : docs;
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toMatch(/swagger/i);
  });
});

describe('health', () => {
  test('/healthz and /readyz answer without a key; ready means PostgreSQL and Temporal answer', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
  });

  test('/readyz is a 503 naming the failing dependency when Temporal is unreachable', async () => {
    const broken = await makeApp({
      temporal: {
        client: {
          workflowService: { getSystemInfo: async () => Promise.reject(new Error('refused')) },
        } as never,
        taskQueue: 'none',
      },
    });
    const response = await broken.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().checks).toEqual({ postgres: 'ok', temporal: 'failing' });
  });
});
