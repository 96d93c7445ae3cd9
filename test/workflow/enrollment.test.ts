/**
 * The enrollment workflow on Temporal's time-skipping server, with the real activities and
 * a real PostgreSQL: weeks of sequence time run in seconds.
 */
import { useWorld } from '../support/use-world.js';

import { Contact, Delivery, Enrollment } from '../../db/entities/index.js';
import {
  cancelEnrollment,
  enrollContact,
  pauseEnrollment,
  resumeEnrollment,
} from '../../api/services/enrollments.js';
import { stateQuery } from '../../workflows/messages.js';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';

import { eventually } from '../support/wait.js';

const DAY = 24 * 60 * 60 * 1000;

const t = useWorld();

/** When the workflow scheduled each step of an enrollment, from the delivery ledger. */
async function scheduledTimes(enrollmentId: string): Promise<Map<string, number>> {
  const deliveries = await t.world.db.orm.em.fork().find(Delivery, { enrollment: enrollmentId });
  return new Map(deliveries.map((delivery) => [delivery.stepId, delivery.scheduledAt!.getTime()]));
}

/** The activities a workflow ran, in order (read from its history); local ones marked so. */
async function activitiesRun(workflowId: string): Promise<string[]> {
  const { events } = await t.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (events ?? []).flatMap((event) => {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) return [name];
    const marker = event.markerRecordedEventAttributes;
    const data =
      marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : null;
    if (!data) return [];
    const { activity_type } = JSON.parse(Buffer.from(data).toString()) as { activity_type: string };
    return [`${activity_type} (local)`];
  });
}

async function enrollNewContact() {
  const sequence = await t.world.publishedSequence();
  const contact = await t.world.contact();
  const result = await enrollContact({ ...t.world.ctx, em: t.world.ctx.em.fork() }, sequence.id, contact.id);
  if (result.kind !== 'enrolled') throw new Error(`expected a new enrollment, got ${result.kind}`);
  const handle = t.env.client.workflow.getHandle<typeof enrollmentWorkflow>(result.enrollment.workflowId);
  const sendsTo = () => t.sender.sends.filter((send) => send.email.to === contact.email);
  const ctx = () => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });
  return { sequence, contact, enrollment: result.enrollment, handle, sendsTo, ctx };
}

test('E1: a contact receives every step at its delay and the enrollment completes', async () => {
  const { handle, sendsTo, enrollment } = await enrollNewContact();
  const result = await handle.result(); // time skips through the 7 days of the sequence
  expect(result).toEqual({
    status: 'completed',
    reason: 'all_steps_done',
    doneStepIds: ['welcome', 'follow-up', 'last'],
  });
  const sends = sendsTo();
  expect(sends.map((send) => send.email.subject)).toEqual(['Welcome, Ada', 'Following up', 'Last note']);
  // T1: delays are exact durations between the steps' send times…
  const scheduled = await scheduledTimes(enrollment.id);
  expect(scheduled.get('follow-up')! - scheduled.get('welcome')!).toBe(3 * DAY);
  expect(scheduled.get('last')! - scheduled.get('follow-up')!).toBe(4 * DAY);
  // …and the provider is called within moments of each.
  for (const [index, stepId] of ['welcome', 'follow-up', 'last'].entries()) {
    expect(sends[index]!.atMs - scheduled.get(stepId)!).toBeLessThan(60_000);
  }

  const row = await t.world.db.orm.em.fork().findOneOrFail(Enrollment, enrollment.id);
  expect(row.status).toBe('completed');
  expect(row.endReason).toBe('all_steps_done');
  const deliveries = await t.world.db.orm.em.fork().find(Delivery, { enrollment: enrollment.id });
  expect(deliveries.map((d) => [d.stepId, d.status]).sort()).toEqual([
    ['follow-up', 'sent'],
    ['last', 'sent'],
    ['welcome', 'sent'],
  ]);
  // loadPlan, a local activity, mirrored the first step (no `recordProgress`), each send the
  // step after it, and the last send recorded the ending in its own transaction (no
  // `finishEnrollment`).
  expect(await activitiesRun(enrollment.workflowId)).toEqual([
    'loadPlan (local)',
    'sendStep',
    'sendStep',
    'sendStep',
  ]);
});

test('E11: with an active tag to take off, the last send leaves the ending to finishEnrollment, which removes it', async () => {
  const sequence = await t.world.publishedSequence({ activeTag: 'in-onboarding' });
  const contact = await t.world.contact();
  const result = await enrollContact({ ...t.world.ctx, em: t.world.ctx.em.fork() }, sequence.id, contact.id);
  if (result.kind !== 'enrolled') throw new Error(`expected a new enrollment, got ${result.kind}`);
  const handle = t.env.client.workflow.getHandle<typeof enrollmentWorkflow>(result.enrollment.workflowId);
  expect(await handle.result()).toMatchObject({ status: 'completed', reason: 'all_steps_done' });
  expect((await activitiesRun(result.enrollment.workflowId)).at(-1)).toBe('finishEnrollment');
  const row = await t.world.db.orm.em.fork().findOneOrFail(Enrollment, result.enrollment.id);
  expect(row.status).toBe('completed');
  const after = await t.world.db.orm.em.fork().findOneOrFail(Contact, contact.id);
  expect(after.tags).not.toContain('in-onboarding');
});

test("§4: a new enrollment's row mirrors the step its workflow waits for, due when the workflow says, with no recordProgress", async () => {
  const sequence = await t.world.publishedSequence({
    steps: [{ id: 'later', name: 'Later', delay: 'P2D', subject: 'Later', html: '<p>x</p>' }],
  });
  const contact = await t.world.contact();
  const ctx = () => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });
  const { enrollment } = await enrollContact(ctx(), sequence.id, contact.id);
  const handle = t.env.client.workflow.getHandle<typeof enrollmentWorkflow>(enrollment.workflowId);
  const { nextStep } = await eventually(
    async () => {
      const state = await handle.query(stateQuery);
      return state.nextStep ? state : null;
    },
    { what: 'the workflow waiting for its step' },
  );

  const row = await t.world.db.orm.em.fork().findOneOrFail(Enrollment, enrollment.id);
  expect(row).toMatchObject({
    currentStepId: 'later',
    currentStepIndex: 0,
    dueAt: new Date(nextStep!.dueAt),
  });
  expect(await activitiesRun(enrollment.workflowId)).toEqual(['loadPlan (local)']);
  await cancelEnrollment(ctx(), enrollment.id);
});

test('E8: a pause holds the pending step for weeks; resume sends it, then the rest at their delays', async () => {
  const { handle, sendsTo, enrollment, ctx } = await enrollNewContact();
  await eventually(async () => sendsTo().length === 1, { what: 'the welcome email' });

  await t.env.sleep('1 day');
  await pauseEnrollment(ctx(), enrollment.id);
  await eventually(async () => (await handle.query(stateQuery)).status === 'paused', {
    what: 'paused state',
  });

  await t.env.sleep('3 weeks'); // far past the follow-up's due time
  expect(sendsTo()).toHaveLength(1); // nothing is sent while paused, however long
  const held = await handle.query(stateQuery);
  expect(held.nextStep?.id).toBe('follow-up'); // held: not skipped, not lost
  expect(held.doneStepIds).toEqual(['welcome']);

  const resumedAt = await t.env.currentTimeMs();
  await resumeEnrollment(ctx(), enrollment.id);
  await eventually(async () => sendsTo().length === 2, { what: 'the held follow-up' });
  const followUp = sendsTo()[1]!;
  expect(followUp.email.subject).toBe('Following up');
  expect(followUp.atMs).toBeGreaterThanOrEqual(resumedAt); // overdue: sent on resume…
  expect(followUp.atMs - resumedAt).toBeLessThan(60_000); // …not a day later

  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(sendsTo().map((send) => send.email.subject)).toEqual(['Welcome, Ada', 'Following up', 'Last note']);
  const scheduled = await scheduledTimes(enrollment.id);
  expect(scheduled.get('follow-up')).toBeGreaterThanOrEqual(resumedAt);
  expect(scheduled.get('last')! - scheduled.get('follow-up')!).toBe(4 * DAY); // the rest follow at their delays
});

test('E4: cancelling during a wait stops all further sends', async () => {
  const { handle, sendsTo, enrollment, ctx } = await enrollNewContact();
  await eventually(async () => sendsTo().length === 1, { what: 'the welcome email' });
  await t.env.sleep('2 days');

  const cancelled = await cancelEnrollment(ctx(), enrollment.id, 'replied');
  expect(cancelled.status).toBe('cancelled');
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'cancelled', reason: 'replied', doneStepIds: ['welcome'] });

  await t.env.sleep('4 weeks');
  expect(sendsTo()).toHaveLength(1);
  const row = await t.world.db.orm.em.fork().findOneOrFail(Enrollment, enrollment.id);
  expect(row).toMatchObject({ status: 'cancelled', endReason: 'replied' });
});

test('E2: enrolling a contact that is already active returns the same enrollment and starts nothing new', async () => {
  const { sequence, contact, enrollment, handle, sendsTo, ctx } = await enrollNewContact();
  await eventually(async () => sendsTo().length === 1, { what: 'the welcome email' });

  const again = await enrollContact(ctx(), sequence.id, contact.id);
  expect(again.kind).toBe('already_active');
  expect(again.enrollment.id).toBe(enrollment.id);
  const rows = await t.world.db.orm.em
    .fork()
    .find(Enrollment, { sequence: sequence.id, contact: contact.id });
  expect(rows).toHaveLength(1);

  const description = await handle.describe();
  expect(description.runId).toBe(enrollment.runId); // the same run, not a restart
  await t.env.sleep('1 day');
  expect(sendsTo()).toHaveLength(1); // not reset to step 1
  await cancelEnrollment(ctx(), enrollment.id);
});
