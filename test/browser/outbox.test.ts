/**
 * The development outbox page (no Resend key): what Nudge would have sent, listed and
 * viewable in a browser, for the workspace whose API key signs in. Headless Chromium opens it
 * like a new user would. Screenshots: test-results/browser/outbox-*.png.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import { enrollContact } from '../../api/services/enrollments.js';
import { OutboxSender } from '../../email/outbox-sender.js';
import { launchBrowser, keepScreenshot, type Browser } from '../support/browser.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

let env: TestWorkflowEnvironment;
let world: World;
let app: FastifyInstance;
let baseUrl: string;
let browser: Browser;
let deliveryPath: string;

beforeAll(async () => {
  env = await startTimeSkippingServer();
  world = await startWorld(env, new OutboxSender(silentLogger));
  app = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
    outboxPage: { temporalUi: { url: 'http://127.0.0.1:8233', namespace: 'default' } },
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser({ httpCredentials: { username: 'me', password: world.apiKey } });

  // A contact whose name is markup, and an email whose body tries to run a script.
  const sequence = await world.publishedSequence({
    name: 'Onboarding',
    steps: [
      {
        id: 'welcome',
        name: 'Welcome',
        delay: 'PT0S',
        subject: 'Welcome, {{ contact.first_name }}',
        html: "<h1>Hello {{ contact.first_name }}</h1><p>Glad you're here.</p><script>document.body.insertAdjacentHTML('beforeend', '<p id=\"pwned\">pwned</p>')</script>",
        text: 'Hello {{ contact.first_name }}, glad you are here.',
      },
    ],
  });
  const contact = await world.contact({ email: 'ada@example.com', name: '<b>Ada</b> Lovelace' });
  const { enrollment } = await enrollContact(
    { ...world.ctx, em: world.ctx.em.fork() },
    sequence.id,
    contact.id,
  );
  const listed = await eventually(
    async () => {
      const page = await fetch(`${baseUrl}/outbox`, { headers: { authorization: `Bearer ${world.apiKey}` } });
      const body = await page.text();
      return body.includes('ada@example.com') ? body : null;
    },
    { what: `the welcome of ${enrollment.id} in the outbox` },
  );
  deliveryPath = /href="(\/outbox\/[0-9a-f-]{36})"/.exec(listed)![1]!;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await world?.close();
  await env?.teardown();
});

test('the outbox asks a browser for an API key and shows each workspace only its own emails', async () => {
  const anonymous = await fetch(`${baseUrl}/outbox`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="Nudge outbox", charset="UTF-8"');
  const wrongKey = await fetch(`${baseUrl}/outbox`, {
    headers: { authorization: `Basic ${Buffer.from('me:nudge_not-a-key').toString('base64')}` },
  });
  expect(wrongKey.status).toBe(401);

  const other = await world.workspace();
  const asOther = { authorization: `Bearer ${other.apiKey}` };
  const otherList = await (await fetch(`${baseUrl}/outbox`, { headers: asOther })).text();
  expect(otherList).not.toContain('ada@example.com');
  expect((await fetch(`${baseUrl}${deliveryPath}`, { headers: asOther })).status).toBe(404);
}, 60_000);

test('the outbox is not there when emails go through Resend', async () => {
  const withResend = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
    outboxPage: null,
  });
  const response = await withResend.inject({
    url: '/outbox',
    headers: { authorization: `Bearer ${world.apiKey}` },
  });
  expect(response.statusCode).toBe(404);
  await withResend.close();
}, 60_000);

test('a new user sees in a browser what would have been sent: the list, then the rendered email, with no script running', async () => {
  const page = await browser.newPage();
  await page.goto(`${baseUrl}/outbox`);
  await page.getByRole('heading', { name: 'Development outbox' }).waitFor();
  const row = page.getByRole('row').filter({ hasText: 'ada@example.com' });
  expect(await row.count()).toBe(1);
  // The contact's name is shown as text, never as markup.
  await row.getByRole('link', { name: 'Welcome, <b>Ada</b>' }).waitFor();
  expect(await row.textContent()).toContain('Onboarding');
  expect(await row.textContent()).toContain('welcome');
  await keepScreenshot(page, 'outbox-list');

  await row.getByRole('link').click();
  await page.waitForURL(`${baseUrl}${deliveryPath}`);
  await page.getByRole('heading', { name: 'Welcome, <b>Ada</b>' }).waitFor();
  const email = page.frameLocator('iframe.email');
  // Contact data is escaped in HTML bodies too: the name shows as text, not as bold markup.
  await email.getByRole('heading', { name: 'Hello <b>Ada</b>' }).waitFor();
  expect(await email.getByText("Glad you're here.").count()).toBe(1);
  expect(await email.locator('#pwned').count()).toBe(0); // the email's script never ran
  expect(await page.locator('pre.text').textContent()).toMatch(
    /^Hello <b>Ada<\/b>, glad you are here\.\n\n--\nUnsubscribe: http:\/\/127\.0\.0\.1:3000\/unsubscribe\//,
  );
  expect(await page.getByRole('link', { name: 'workflow in the Temporal UI' }).getAttribute('href')).toMatch(
    /^http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/enrollment%3A/,
  );
  await keepScreenshot(page, 'outbox-email');
  await page.close();
}, 60_000);
