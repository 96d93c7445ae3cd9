/**
 * The engineers' view: the Temporal Web UI of a real dev server, in headless Chromium.
 * Filtering by Nudge's enrollment-status search attribute finds the paused enrollment and
 * not the active one; opening it shows its summary and what it is holding.
 * Screenshots: test-results/browser/temporal-ui-*.png.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { enrollContact, pauseEnrollment } from '../../api/services/enrollments.js';
import { EnrollmentStatusAttribute } from '../../workflows/search-attributes.js';
import { stateQuery } from '../../workflows/messages.js';
import type { Page } from 'playwright-core';
import { launchBrowser, keepScreenshot, type Browser } from '../support/browser.js';
import { freePort } from '../support/processes.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startDevServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { startWorld, type World } from '../support/world.js';

let env: TestWorkflowEnvironment;
let world: World;
let browser: Browser;
let uiUrl: string;
const sender = new RecordingSender();

beforeAll(async () => {
  const uiPort = await freePort();
  env = await startDevServer({ uiPort });
  uiUrl = `http://127.0.0.1:${uiPort}`;
  [world, browser] = await Promise.all([startWorld(env, sender), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
  await env?.teardown();
});

test('E8: filtering the Temporal UI by NudgeEnrollmentStatus = "paused" finds the paused enrollment, not the active one, and opening it shows what it holds', async () => {
  const sequence = await world.publishedSequence({
    name: 'Onboarding',
    timeZone: 'Europe/Paris',
    steps: [
      { id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Welcome', html: '<p>Hi</p>' },
      { id: 'follow-up', name: 'Follow-up', delay: 'P3D', subject: 'Following up', html: '<p>…</p>' },
    ],
  });
  const ada = await world.contact({
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    timeZone: 'Europe/Paris',
  });
  const bob = await world.contact({
    email: 'bob@example.com',
    name: 'Bob Babbage',
    timeZone: 'Europe/Paris',
  });
  const scoped = () => ({ ...world.ctx, em: world.ctx.em.fork() });
  const adaEnrollment = (await enrollContact(scoped(), sequence.id, ada.id)).enrollment;
  const bobEnrollment = (await enrollContact(scoped(), sequence.id, bob.id)).enrollment;

  // Both welcomes go out; then Ada is paused while she waits for the follow-up.
  for (const enrollment of [adaEnrollment, bobEnrollment]) {
    await eventually(
      async () => {
        const state = await env.client.workflow.getHandle(enrollment.workflowId).query(stateQuery);
        return state.nextStep?.id === 'follow-up';
      },
      { what: `${enrollment.workflowId} to wait for the follow-up` },
    );
  }
  await pauseEnrollment(scoped(), adaEnrollment.id);
  await eventually(
    async () => {
      const found = [];
      for await (const run of env.client.workflow.list({
        query: `${EnrollmentStatusAttribute.name} = "paused"`,
      })) {
        found.push(run.workflowId);
      }
      return found.length === 1 && found[0] === adaEnrollment.workflowId;
    },
    { what: 'visibility to index the pause' },
  );

  const page = await browser.newPage();
  await page.goto(`${uiUrl}/namespaces/default/workflows`);
  const link = (workflowId: string) => page.getByRole('link', { name: workflowId, exact: true });
  await link(bobEnrollment.workflowId).waitFor();

  // The way an engineer does it: Add Filter → the attribute → "paused" → Apply.
  await page.getByTestId('add-filter-button').click();
  await page.getByTestId('filter-search').fill(EnrollmentStatusAttribute.name);
  await page.getByText(EnrollmentStatusAttribute.name, { exact: true }).first().click();
  await page.getByPlaceholder('Enter value...').fill('paused');
  await page.getByRole('button', { name: 'Apply' }).click();

  await link(adaEnrollment.workflowId).waitFor();
  await page.getByText('1 Workflow', { exact: true }).waitFor();
  expect(await link(bobEnrollment.workflowId).count()).toBe(0);
  expect(decodeURIComponent(page.url())).toContain(`\`${EnrollmentStatusAttribute.name}\`="paused"`);
  await keepScreenshot(page, 'temporal-ui-paused-filter');

  await link(adaEnrollment.workflowId).click();
  await page.getByText('User Metadata').click();
  // The UI renders summary, details and current details as Markdown, each in its own frame.
  expect(await renderedText(page, /Onboarding → ada@example\.com/)).toBe('Onboarding → ada@example.com');
  expect(await renderedText(page, /Contact Ada Lovelace/)).toContain(
    'ada@example.com · sends in Europe/Paris',
  );
  const current = await renderedText(page, /^paused since/);
  expect(current).toMatch(
    /^paused since \d{4}-\d{2}-\d{2} \d{2}:\d{2} Europe\/Paris \(enrollment paused\); holding step 2 .Follow-up.$/,
  );
  await keepScreenshot(page, 'temporal-ui-paused-enrollment');
  await page.close();
}, 180_000);

/** The text of the first rendered-Markdown frame whose text matches. */
async function renderedText(page: Page, pattern: RegExp): Promise<string> {
  return eventually(
    async () => {
      for (const frame of page.frames()) {
        if (!frame.url().includes('/render?')) continue;
        const text = (await frame.locator('main').textContent())?.trim() ?? '';
        if (pattern.test(text)) return text;
      }
      return null;
    },
    { what: `a rendered frame matching ${pattern}` },
  );
}
