/**
 * Templates through the API (issue 4 §1): Liquid with contact fields, custom attributes and
 * defaults, HTML and plain-text parts; the preview route; publishing (S2) refuses a template
 * that does not render, naming the step and the error.
 */
import { buildApp } from '../../api/app.js';
import { createWorkspaceWithKey } from '../../api/keys.js';
import { verifyUnsubscribeToken } from '../../email/unsubscribe.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { silentLogger } from '../support/world.js';

const SECRET = 'templates-test-secret-0123456789abcdef';

let db: TestDatabase;
let app: App;
let api: ReturnType<typeof apiClient>;
let other: ReturnType<typeof apiClient>;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildApp({
    orm: db.orm,
    temporal: { client: null as never, taskQueue: 'unused' },
    logger: silentLogger,
    delivery: {
      from: 'Acme <hello@acme.test>',
      publicUrl: 'https://nudge.acme.test',
      unsubscribeSecret: SECRET,
    },
  });
  api = apiClient(app, (await createWorkspaceWithKey(db.orm.em.fork(), 'templates')).apiKey.key);
  other = apiClient(app, (await createWorkspaceWithKey(db.orm.em.fork(), 'other')).apiKey.key);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const step = (overrides: Record<string, unknown> = {}) => ({
  id: 'welcome',
  name: 'Welcome',
  delay: 'PT0S',
  subject: 'Hi {{ contact.first_name | default: "there" }}',
  html: '<p>{{ contact.company | default: "your team" }} at {{ sequence.name }}</p>',
  text: 'Hello {{ contact.name }} of {{ contact.attributes.company }}',
  ...overrides,
});

async function sequenceWith(steps: object[]) {
  const created = await api.post('/sequences', { name: 'Onboarding', steps });
  expect(created.statusCode).toBe(201);
  return created.json().id as string;
}

async function contact(body: Record<string, unknown>) {
  const created = await api.post('/contacts', {
    email: `${Math.random().toString(36).slice(2)}@example.com`,
    ...body,
  });
  expect(created.statusCode).toBe(201);
  return created.json();
}

test('preview renders contact fields, custom attributes and defaults in subject, HTML and text, with the unsubscribe headers', async () => {
  const sequenceId = await sequenceWith([step()]);
  const ada = await contact({ name: 'Ada Lovelace', attributes: { company: 'Analytical <Engines>' } });

  const response = await api.get(`/sequences/${sequenceId}/steps/welcome/preview?contactId=${ada.id}`);
  expect(response.statusCode).toBe(200);
  const preview = response.json();
  expect(preview).toMatchObject({
    sequenceId,
    stepId: 'welcome',
    version: 'draft',
    contactId: ada.id,
    from: 'Acme <hello@acme.test>',
    to: ada.email,
    subject: 'Hi Ada',
  });
  // HTML output is escaped: a contact's data cannot inject markup.
  expect(preview.html).toContain('<p>Analytical &lt;Engines&gt; at Onboarding</p>');
  expect(preview.text).toMatch(/^Hello Ada Lovelace of Analytical <Engines>\n/);
  // D7: the link the email would carry, signed for this contact, in the footer and the headers.
  const url = /^<(.+)>$/.exec(preview.headers['List-Unsubscribe'])![1]!;
  expect(preview.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
  expect(preview.html).toContain(`href="${url}"`);
  expect(preview.text).toContain(`Unsubscribe: ${url}`);
  const token = url.replace('https://nudge.acme.test/unsubscribe/', '');
  expect(
    verifyUnsubscribeToken(SECRET, token, {
      workspaceId: await workspaceOf(ada.id),
      contactId: ada.id,
      deliveryId: null,
    }),
  ).toBe(true);

  const sample = (await api.get(`/sequences/${sequenceId}/steps/welcome/preview`)).json();
  expect(sample).toMatchObject({ contactId: null, to: 'sample@example.com', subject: 'Hi Sample' });
  expect(sample.html).toContain('<p>your team at Onboarding</p>');

  const nameless = await contact({});
  const defaults = (
    await api.get(`/sequences/${sequenceId}/steps/welcome/preview?contactId=${nameless.id}`)
  ).json();
  expect(defaults.subject).toBe('Hi there');
});

async function workspaceOf(contactId: string): Promise<string> {
  const [row] = await db.orm.em
    .fork()
    .getConnection()
    .execute<{ workspace_id: string }[]>('select workspace_id from contact where id = ?', [contactId]);
  return row!.workspace_id;
}

test('preview of the live version, and `| raw` lets trusted HTML through', async () => {
  const sequenceId = await sequenceWith([step({ html: '<div>{{ contact.signature | raw }}</div>' })]);
  const grace = await contact({ name: 'Grace', attributes: { signature: '<b>G.</b>' } });
  expectProblem(await api.get(`/sequences/${sequenceId}/steps/welcome/preview?version=live`), 409);
  expect((await api.post(`/sequences/${sequenceId}/publish`)).statusCode).toBe(200);
  const live = (
    await api.get(`/sequences/${sequenceId}/steps/welcome/preview?version=live&contactId=${grace.id}`)
  ).json();
  expect(live.version).toBe('live');
  expect(live.html).toContain('<div><b>G.</b></div>');
});

test('preview answers 404 for an unknown step, another workspace’s contact, and a 400 for a bad version', async () => {
  const sequenceId = await sequenceWith([step()]);
  expectProblem(await api.get(`/sequences/${sequenceId}/steps/nope/preview`), 404);
  const stranger = (await other.post('/contacts', { email: 'stranger@example.com' })).json();
  expectProblem(
    await api.get(`/sequences/${sequenceId}/steps/welcome/preview?contactId=${stranger.id}`),
    404,
    '/query/contactId',
  );
  expectProblem(await api.get(`/sequences/${sequenceId}/steps/welcome/preview?version=old`), 400);
});

test.each([
  [
    'a subject that does not parse',
    { subject: 'Hi {{ contact.name' },
    'subject',
    /output "{{ contact.name" not closed/,
  ],
  [
    'an HTML body with an unknown filter',
    { html: '<p>{{ contact.name | shout }}</p>' },
    'html',
    /undefined filter: shout/,
  ],
  ['a text body with a broken tag', { text: '{% if %}x{% endif %}' }, 'text', /invalid value expression/],
])(
  'S2: publishing refuses %s, naming the step, the part and the error; preview says the same',
  async (_, broken, part, message) => {
    const sequenceId = await sequenceWith([
      step({ id: 'intro', name: 'Intro' }),
      step({ id: 'second', name: 'Second', ...broken }),
    ]);
    const refused = expectProblem(
      await api.post(`/sequences/${sequenceId}/publish`),
      422,
      `/draftSteps/1/${part}`,
    );
    expect(refused).toMatchObject({ type: 'urn:nudge:problem:template', stepId: 'second', part });
    expect(refused.detail).toMatch(new RegExp(`^Step 2 'Second' \\(second\\) ${part}: `));
    expect(refused.detail).toMatch(message);
    expect((await api.get(`/sequences/${sequenceId}`)).json()).toMatchObject({
      status: 'draft',
      liveVersion: null,
    });

    const preview = expectProblem(await api.get(`/sequences/${sequenceId}/steps/second/preview`), 422);
    expect(preview.detail).toBe(refused.detail);
  },
);

test('templates cannot read files from the server', async () => {
  const sequenceId = await sequenceWith([step({ html: '{% include "package.json" %}' })]);
  const refused = expectProblem(
    await api.post(`/sequences/${sequenceId}/publish`),
    422,
    '/draftSteps/0/html',
  );
  expect(refused.detail).toMatch(/Failed to lookup "package.json"/);
});

test('stats of a sequence with no sends list its live steps with zeros', async () => {
  const sequenceId = await sequenceWith([step(), step({ id: 'follow-up', name: 'Follow-up' })]);
  await api.post(`/sequences/${sequenceId}/publish`);
  const stats = (await api.get(`/sequences/${sequenceId}/stats`)).json();
  expect(stats.totals).toEqual({
    sent: 0,
    delivered: 0,
    bounced: 0,
    complained: 0,
    opened: 0,
    clicked: 0,
    unsubscribed: 0,
    failed: 0,
  });
  expect(stats.steps.map((s: any) => [s.stepId, s.name, s.live, s.sent])).toEqual([
    ['welcome', 'Welcome', true, 0],
    ['follow-up', 'Follow-up', true, 0],
  ]);
});
