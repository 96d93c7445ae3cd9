/**
 * The worker's domain counters, counted by its activity interceptor, on the time-skipping
 * server: the outcomes that take days to happen (a step expiring during a pause) or need a
 * provider that refuses (a permanent failure). test/e2e/observability.test.ts scrapes the
 * same counters from the real worker process.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Registry } from 'prom-client';
import { enrollContact, pauseEnrollment, resumeEnrollment } from '../../api/services/enrollments.js';
import type { EmailSender, OutgoingEmail, SendOutcome } from '../../email/sender.js';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';
import { stateQuery } from '../../workflows/messages.js';
import { createDeliveryMetrics } from '../../worker/metrics.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

/** Records like a provider, but refuses `bounce-…` addresses for good (D4). */
class RefusingSender implements EmailSender {
  readonly provider = 'recording';
  constructor(readonly recorder: RecordingSender) {}
  async send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome> {
    if (email.to.startsWith('bounce-')) {
      return {
        ok: false,
        kind: 'permanent',
        failure: 'invalid_recipient',
        reason: 'validation_error (422): invalid recipient',
      };
    }
    return this.recorder.send(email, idempotencyKey);
  }
}

let env: TestWorkflowEnvironment;
let world: World;
const registry = new Registry();
const metrics = createDeliveryMetrics(registry, 'recording');

beforeAll(async () => {
  env = await startTimeSkippingServer();
  const sender = new RefusingSender(new RecordingSender(() => env.currentTimeMs()));
  world = await startWorld(env, sender, {
    observability: { metrics, logger: silentLogger, provider: sender.provider },
  });
}, 120_000);

afterAll(async () => {
  await world?.close();
  await env?.teardown();
});

async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([key, label]) => v.labels[key] === label));
  return found?.value ?? 0;
}

async function counts() {
  return {
    sent: await value('nudge_emails_sent_total', { kind: 'first', provider: 'recording' }),
    skipped: await value('nudge_steps_skipped_total', { reason: 'expired' }),
    failed: await value('nudge_sends_failed_total'),
    completed: await value('nudge_enrollments_ended_total', { status: 'completed' }),
  };
}

async function enroll(email: string, steps: Parameters<World['publishedSequence']>[0]) {
  const sequence = await world.publishedSequence(steps);
  const contact = await world.contact({ email });
  const ctx = () => ({ ...world.ctx, em: world.ctx.em.fork() });
  const { enrollment } = await enrollContact(ctx(), sequence.id, contact.id);
  const handle = env.client.workflow.getHandle<typeof enrollmentWorkflow>(enrollment.workflowId);
  return { enrollment, handle, ctx };
}

test('S4: a step whose end date passes during a pause is counted as skipped (expired), the sent one as sent', async () => {
  const before = await counts();
  const { enrollment, handle, ctx } = await enroll('ada@example.com', {
    steps: [
      { id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Welcome', html: '<p>Hi</p>' },
      {
        id: 'flash',
        name: 'Flash sale',
        delay: 'P1D',
        expiresAfter: 'P1D',
        subject: 'Sale',
        html: '<p>Now</p>',
      },
    ],
  });
  await eventually(async () => (await handle.query(stateQuery)).nextStep?.id === 'flash', {
    what: 'the welcome',
  });
  await pauseEnrollment(ctx(), enrollment.id);
  await eventually(async () => (await handle.query(stateQuery)).status === 'paused', { what: 'the pause' });
  await env.sleep('5 days'); // past the flash sale's due time and its end date
  await resumeEnrollment(ctx(), enrollment.id);
  expect(await handle.result()).toMatchObject({ status: 'completed', doneStepIds: ['welcome', 'flash'] });

  const after = await counts();
  expect(after.sent - before.sent).toBe(1);
  expect(after.skipped - before.skipped).toBe(1);
  expect(after.completed - before.completed).toBe(1);
  expect(after.failed - before.failed).toBe(0);
}, 60_000);

test('D4: a permanent provider refusal is counted as failed, never as sent', async () => {
  const before = await counts();
  const { handle } = await enroll('bounce-grace@example.com', {
    steps: [{ id: 'welcome', name: 'Welcome', delay: 'PT0S', subject: 'Welcome', html: '<p>Hi</p>' }],
  });
  await handle.result();
  const after = await counts();
  expect(after.failed - before.failed).toBe(1);
  expect(after.sent - before.sent).toBe(0);
}, 60_000);
