/**
 * A whole sequence changing under its enrollments (S3–S6) and operators managing one
 * enrollment (E3, E7, E9), on Temporal's time-skipping server with the real activities, the
 * real fan-out and a real PostgreSQL: weeks of sequence time in seconds.
 */
import { useWorld } from '../support/use-world.js';

import { Contact, Delivery, Enrollment, EventLog, Sequence } from '../../db/entities/index.js';
import type { ServiceContext } from '../../api/context.js';
import { bulkEnroll } from '../../api/services/bulk-enrollments.js';
import { cancelEnrollment, enrollContact } from '../../api/services/enrollments.js';
import { resendStep, skipStep } from '../../api/services/enrollment-steps.js';
import { reEnroll, restartEnrollment } from '../../api/services/re-enrollment.js';
import {
  deleteSequence,
  pauseSequence,
  resumeSequence,
  updateSequence,
} from '../../api/services/sequence-changes.js';
import { publishSequence } from '../../api/services/sequences.js';
import { stateQuery } from '../../workflows/messages.js';
import type { EnrollmentSnapshot } from '../../workflows/state.js';

import { eventually } from '../support/wait.js';
import { threeSteps } from '../support/world.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const t = useWorld();

const ctx = (): ServiceContext => ({ ...t.world.ctx, em: t.world.ctx.em.fork() });
const orm = () => t.world.db.orm.em.fork();

async function enroll(sequenceId: string) {
  const contact = await t.world.contact();
  const result = await enrollContact(ctx(), sequenceId, contact.id);
  if (result.kind !== 'enrolled') throw new Error(`expected a new enrollment, got ${result.kind}`);
  const enrollment = result.enrollment;
  const handle = t.env.client.workflow.getHandle(enrollment.workflowId);
  return {
    contact,
    enrollment,
    state: () => handle.query(stateQuery),
    result: () => handle.result(),
    sends: () => t.sender.sends.filter((send) => send.email.to === contact.email),
  };
}
type Enrolled = Awaited<ReturnType<typeof enroll>>;

const stateOf = (enrolled: Enrolled, what: string, check: (state: EnrollmentSnapshot) => boolean) =>
  eventually(async () => check(await enrolled.state()), { what });
const sentCount = async (enrolled: Enrolled, count: number) => {
  let last = '';
  await eventually(
    async () => {
      last = JSON.stringify(await enrolled.state().catch((error: unknown) => String(error)));
      return enrolled.sends().length === count;
    },
    { what: `${count} emails sent`, detail: () => last },
  );
};

/** When the workflow scheduled each step (the ledger's `scheduledAt`): delays are exact between them. */
async function scheduledAt(enrollmentId: string): Promise<Record<string, number>> {
  const rows = await orm().find(Delivery, { enrollment: enrollmentId, kind: 'first', status: 'sent' });
  return Object.fromEntries(rows.map((row) => [row.stepId, row.scheduledAt!.getTime()]));
}

async function ledger(enrollmentId: string) {
  const rows = await orm().find(Delivery, { enrollment: enrollmentId }, { orderBy: { createdAt: 'asc' } });
  return rows.map((row) => ({ step: row.stepId, kind: row.kind, status: row.status, error: row.error }));
}

describe('S3/S4: pausing and resuming a whole sequence', () => {
  test('S3: a paused sequence holds every pending step for weeks; S4: resume sends the held steps, then the rest at their delays', async () => {
    const sequence = await t.world.publishedSequence();
    const contacts = [await enroll(sequence.id), await enroll(sequence.id)];
    for (const enrolled of contacts) await sentCount(enrolled, 1);

    await t.env.sleep('1 day');
    const paused = await pauseSequence(ctx(), sequence.id);
    expect(paused.status).toBe('paused');
    for (const enrolled of contacts) {
      await stateOf(enrolled, 'held by the sequence', (s) => s.heldBy.includes('sequence'));
    }

    await t.env.sleep('3 weeks'); // far past every follow-up's due time
    for (const enrolled of contacts) {
      expect(enrolled.sends()).toHaveLength(1); // held: not sent…
      const state = await enrolled.state();
      expect(state.status).toBe('paused');
      expect(state.nextStep?.id).toBe('follow-up'); // …not skipped, not lost
    }

    const resumedAt = await t.env.currentTimeMs();
    await resumeSequence(ctx(), sequence.id);
    for (const enrolled of contacts) {
      await sentCount(enrolled, 2);
      const followUp = enrolled.sends()[1]!;
      expect(followUp.email.subject).toBe('Following up');
      expect(followUp.atMs - resumedAt).toBeLessThan(HOUR); // overdue: at the next valid send time (no window: now)
    }
    for (const enrolled of contacts) {
      expect(await enrolled.result()).toMatchObject({ status: 'completed' });
      const scheduled = await scheduledAt(enrolled.enrollment.id);
      expect(scheduled['last']! - scheduled['follow-up']!).toBe(4 * DAY); // the rest follow at their delays
    }
  });

  test('S3: once the pause has returned, a step that falls due is not sent even before the fan-out reaches the workflow', async () => {
    const sequence = await t.world.publishedSequence({
      steps: [
        { id: 'first', name: 'First', delay: 'PT1H', subject: 'First', html: '<p>1</p>' },
        { id: 'second', name: 'Second', delay: 'PT1H', subject: 'Second', html: '<p>2</p>' },
      ],
    });
    const enrolled = await enroll(sequence.id);
    await stateOf(enrolled, 'waiting for the first step', (s) => s.nextStep?.id === 'first');
    // The pause as committed by the API, without its fan-out: only the send guard stands in the way.
    await orm().nativeUpdate(Sequence, { id: sequence.id }, { status: 'paused', revision: 9 });

    await t.env.sleep('2 hours');
    await stateOf(enrolled, 'held after the guard refused', (s) => s.status === 'paused');
    expect(enrolled.sends()).toHaveLength(0);
    const refusals = await orm().find(EventLog, { enrollment: enrolled.enrollment.id, type: 'send.refused' });
    expect(refusals.map((event) => event.data.reason)).toEqual(['sequence_paused']);

    // A resume (a later revision) releases it; the held step goes at once.
    await resumeSequence(ctx(), sequence.id);
    await sentCount(enrolled, 1);
    expect(enrolled.sends()[0]!.email.subject).toBe('First');
    await cancelEnrollment(ctx(), enrolled.enrollment.id);
  });

  test('S4: a step whose end date passed during the pause is skipped and recorded as skipped (expired)', async () => {
    const sequence = await t.world.publishedSequence({
      steps: [
        { id: 'hello', name: 'Hello', delay: 'PT0S', subject: 'Hello', html: '<p>hi</p>' },
        {
          id: 'webinar',
          name: 'Webinar tomorrow',
          delay: 'P1D',
          expiresAfter: 'PT12H',
          subject: 'Webinar tomorrow',
          html: '<p>join</p>',
        },
        { id: 'recap', name: 'Recap', delay: 'P2D', subject: 'Recap', html: '<p>recap</p>' },
      ],
    });
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    await pauseSequence(ctx(), sequence.id);
    await stateOf(enrolled, 'paused', (s) => s.status === 'paused');
    await t.env.sleep('3 days'); // the webinar step's end date (due + 12 h) passes meanwhile
    await resumeSequence(ctx(), sequence.id);

    expect(await enrolled.result()).toMatchObject({
      status: 'completed',
      doneStepIds: ['hello', 'webinar', 'recap'],
    });
    expect(enrolled.sends().map((send) => send.email.subject)).toEqual(['Hello', 'Recap']);
    expect(await ledger(enrolled.enrollment.id)).toEqual([
      { step: 'hello', kind: 'first', status: 'sent', error: null },
      { step: 'webinar', kind: 'first', status: 'skipped', error: 'expired' },
      { step: 'recap', kind: 'first', status: 'sent', error: null },
    ]);
  });

  test('S4: overdue steps go at the next opening of the send window in the contact time zone', async () => {
    // A window of one hour a day, far from now in Tokyo: the overdue step waits for it.
    const now = await t.env.currentTimeMs();
    const tokyoHour = (new Date(now).getUTCHours() + 9 + 12) % 24;
    const start = `${String(tokyoHour).padStart(2, '0')}:00`;
    const end = `${String((tokyoHour + 1) % 24).padStart(2, '0')}:00`;
    const sequence = await t.world.publishedSequence({
      sendWindow: { days: [1, 2, 3, 4, 5, 6, 7], start, end },
      steps: [{ id: 'only', name: 'Only', delay: 'PT0S', subject: 'Only', html: '<p>1</p>' }],
    });
    const contact = await t.world.contact({ timeZone: 'Asia/Tokyo' });
    const result = await enrollContact(ctx(), sequence.id, contact.id);
    const handle = t.env.client.workflow.getHandle(result.enrollment.workflowId);
    await handle.result();
    const [send] = t.sender.sends.filter((s) => s.email.to === contact.email);
    const local = new Date(send!.atMs + 9 * HOUR);
    expect(local.getUTCHours()).toBe(tokyoHour); // inside the window, in Tokyo time (T1)
    expect(local.getUTCMinutes()).toBe(0); // at its opening
  });
});

describe('S3: enrollments racing a pause', () => {
  /** A service context whose workflow starts first pause the sequence: the pause commits mid-enrollment. */
  function pausingMidway(sequenceId: string): ServiceContext {
    const base = ctx();
    let paused = false;
    const workflow = base.temporal.client.workflow;
    const racing = new Proxy(workflow, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (name !== 'start') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof workflow.start>) => {
          if (!paused) {
            paused = true;
            await pauseSequence(ctx(), sequenceId);
          }
          return target.start(...args);
        };
      },
    });
    const client = new Proxy(base.temporal.client, {
      get: (target, name) => (name === 'workflow' ? racing : Reflect.get(target, name, target)),
    });
    return { ...base, temporal: { ...base.temporal, client } };
  }

  const liveIn = (sequenceId: string) =>
    orm().count(Enrollment, { sequence: sequenceId, status: { $in: ['active', 'paused'] } });

  test('S3: an enrollment whose sequence is paused while it is being made is refused and recorded, never left running', async () => {
    const sequence = await t.world.publishedSequence();
    const contact = await t.world.contact();
    await expect(enrollContact(pausingMidway(sequence.id), sequence.id, contact.id)).rejects.toMatchObject({
      status: 409,
      kind: 'sequence-paused',
    });
    expect(await liveIn(sequence.id)).toBe(0);
    const refused = await orm().find(EventLog, { sequence: sequence.id, type: 'enrollment.refused' });
    expect(refused.map((event) => event.data.reason)).toEqual(['sequence_paused']);
  });

  test('S3: a bulk enrollment whose sequence is paused mid-request enrolls nobody after the pause', async () => {
    const sequence = await t.world.publishedSequence();
    const contacts = [await t.world.contact(), await t.world.contact()];
    await expect(
      bulkEnroll(
        pausingMidway(sequence.id),
        sequence.id,
        contacts.map((contact) => ({ contactId: contact.id })),
      ),
    ).rejects.toMatchObject({ status: 409, kind: 'sequence-paused' });
    expect(await liveIn(sequence.id)).toBe(0);
  });
});

describe('S5: editing a live sequence', () => {
  test('S5: copy edits reach the next send; timing changes recompute the pending wait; added steps are picked up, anything sent stays sent', async () => {
    const sequence = await t.world.publishedSequence();
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    const enrolledAt = enrolled.sends()[0]!.atMs;

    // New copy for the follow-up, a shorter wait before it, and a new step at the end.
    const [welcome, followUp, last] = threeSteps();
    await updateSequence(ctx(), sequence.id, {
      steps: [
        { ...welcome!, subject: 'Welcome (edited)' },
        { ...followUp!, delay: 'P1D', subject: 'Following up (edited)' },
        last!,
        { id: 'bonus', name: 'Bonus', delay: 'P1D', subject: 'Bonus', html: '<p>bonus</p>' },
      ],
    });
    // Saved to the draft only: the live version still says three days.
    expect((await enrolled.state()).nextStep?.id).toBe('follow-up');
    await publishSequence(ctx(), sequence.id);
    await stateOf(
      enrolled,
      'the pending wait recomputed',
      (s) => s.nextStep !== null && Date.parse(s.nextStep.dueAt) - enrolledAt < 2 * DAY,
    );

    expect(await enrolled.result()).toMatchObject({
      status: 'completed',
      doneStepIds: ['welcome', 'follow-up', 'last', 'bonus'],
    });
    const subjects = enrolled.sends().map((send) => send.email.subject);
    expect(subjects).toEqual(['Welcome, Ada', 'Following up (edited)', 'Last note', 'Bonus']);
    const [first, second] = enrolled.sends();
    expect(second!.atMs - first!.atMs).toBeLessThan(1 * DAY + HOUR); // the new delay, not three days
  });

  test('S5: removed and reordered steps apply from the next step on, matched by step id', async () => {
    const sequence = await t.world.publishedSequence({
      steps: ['a', 'b', 'c', 'd'].map((id) => ({
        id,
        name: id.toUpperCase(),
        delay: id === 'a' ? 'PT0S' : 'P1D',
        subject: `Step ${id}`,
        html: `<p>${id}</p>`,
      })),
    });
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    await t.env.sleep('1 day');
    await sentCount(enrolled, 2); // a, b sent; waiting for c

    // New order d, a, b (c removed, d moved first). The contact continues after b, its last
    // sent step, in the new order: b is last now, so it completes; d is not sent late.
    const step = (id: string) => ({
      id,
      name: id.toUpperCase(),
      delay: 'P1D',
      subject: `Step ${id}`,
      html: '<p/>',
    });
    await updateSequence(ctx(), sequence.id, { steps: [step('d'), step('a'), step('b')] });
    await publishSequence(ctx(), sequence.id);
    expect(await enrolled.result()).toMatchObject({ status: 'completed', doneStepIds: ['a', 'b'] });
    expect(enrolled.sends().map((send) => send.email.subject)).toEqual(['Step a', 'Step b']);

    // Another contact mid-way gets the new order from its next step on.
    const other = await enroll(sequence.id); // starts on the new live version: d, a, b
    await t.env.sleep('1 day');
    await sentCount(other, 1);
    await updateSequence(ctx(), sequence.id, { steps: [step('d'), step('x'), step('a'), step('b')] });
    await publishSequence(ctx(), sequence.id);
    expect(await other.result()).toMatchObject({ doneStepIds: ['d', 'x', 'a', 'b'] });
  });
});

describe('S6: deleting a sequence', () => {
  test('S6: delete ends running enrollments (sequence_deleted), nothing unsent sends, records stay for audit', async () => {
    const sequence = await t.world.publishedSequence({ activeTag: 'in-onboarding' });
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    const deleted = await deleteSequence(ctx(), sequence.id, { purge: false });
    expect(deleted).toEqual({ sequenceId: sequence.id, purged: false, enrollmentsEnded: 1 });

    expect(await enrolled.result()).toMatchObject({ status: 'cancelled', reason: 'sequence_deleted' });
    await t.env.sleep('4 weeks');
    expect(enrolled.sends()).toHaveLength(1);
    const row = await orm().findOneOrFail(Enrollment, enrolled.enrollment.id);
    expect(row).toMatchObject({ status: 'cancelled', endReason: 'sequence_deleted' });
    expect(await ledger(enrolled.enrollment.id)).toHaveLength(1); // kept for audit
    const contact = await orm().findOneOrFail(Contact, enrolled.contact.id);
    expect(contact.tags).not.toContain('in-onboarding');
  });
});

describe('E3/E7/E9: managing enrollments', () => {
  test('E3: restart stops the contact and starts a new generation from step 1', async () => {
    const sequence = await t.world.publishedSequence();
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    await t.env.sleep('3 days');
    await sentCount(enrolled, 2);

    const restarted = await restartEnrollment(ctx(), enrolled.enrollment.id);
    expect(restarted.kind).toBe('enrolled');
    expect(restarted.enrollment.generation).toBe(2);
    const old = await orm().findOneOrFail(Enrollment, enrolled.enrollment.id);
    expect(old).toMatchObject({ status: 'cancelled', endReason: 'restarted' });

    const handle = t.env.client.workflow.getHandle(restarted.enrollment.workflowId);
    expect(await handle.result()).toMatchObject({
      status: 'completed',
      doneStepIds: ['welcome', 'follow-up', 'last'],
    });
    // E1: every step again, from step 1, in the new generation.
    expect(enrolled.sends().map((send) => send.email.subject)).toEqual([
      'Welcome, Ada',
      'Following up',
      'Welcome, Ada',
      'Following up',
      'Last note',
    ]);
  });

  test('E7: re-enroll a list starts completed and cancelled contacts again; active ones and strangers are left alone', async () => {
    const sequence = await t.world.publishedSequence();
    const completed = await enroll(sequence.id);
    await completed.result();
    const cancelled = await enroll(sequence.id);
    await cancelEnrollment(ctx(), cancelled.enrollment.id);
    await cancelled.result();
    const stranger = await t.world.contact();

    const outcome = await reEnroll(ctx(), sequence.id, {
      contactIds: [completed.contact.id, stranger.id, cancelled.contact.id],
    });
    expect(outcome.results.map((r) => [r.index, r.status, r.reason])).toEqual([
      [0, 'enrolled', null],
      [1, 'invalid', 'not_in_sequence'],
      [2, 'enrolled', null],
    ]);
    expect(outcome.results[1]!.field).toBe('/body/contactIds/1');
    await eventually(async () => completed.sends().length === 4, { what: 'step 1 again, after all three' });
    expect(completed.sends()[3]!.email.subject).toBe('Welcome, Ada');

    // "Everyone not active": nobody is left once they are active again.
    const again = await reEnroll(ctx(), sequence.id, { all: true });
    expect(again.summary.enrolled).toBe(0);
    expect(again.remaining).toBe(0);
  });

  test('E9: skip the pending step: recorded as skipped, the next follows its delay from the skip', async () => {
    const sequence = await t.world.publishedSequence();
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    await t.env.sleep('1 day');

    await expect(skipStep(ctx(), enrolled.enrollment.id, 'last')).rejects.toMatchObject({
      status: 409,
      kind: 'step-not-pending',
    });
    const skippedAt = await t.env.currentTimeMs();
    const outcome = await skipStep(ctx(), enrolled.enrollment.id, 'follow-up');
    expect(['skipped', 'accepted']).toContain(outcome.status);
    expect(await enrolled.result()).toMatchObject({
      status: 'completed',
      doneStepIds: ['welcome', 'follow-up', 'last'],
    });
    expect(enrolled.sends().map((send) => send.email.subject)).toEqual(['Welcome, Ada', 'Last note']);
    const lastAt = enrolled.sends()[1]!.atMs;
    expect(lastAt - skippedAt).toBeGreaterThanOrEqual(4 * DAY);
    expect(lastAt - skippedAt).toBeLessThan(4 * DAY + HOUR);
    expect(await ledger(enrolled.enrollment.id)).toContainEqual({
      step: 'follow-up',
      kind: 'first',
      status: 'skipped',
      error: 'skipped',
    });
  });

  test('E9: resend a sent step: a second, recorded delivery now; the pending step keeps its time', async () => {
    const sequence = await t.world.publishedSequence();
    const enrolled = await enroll(sequence.id);
    await sentCount(enrolled, 1);
    // The email reaches the provider before the workflow has moved on to the next step.
    let dueBefore = '';
    await eventually(
      async () => {
        const { nextStep } = await enrolled.state();
        dueBefore = nextStep?.sendAt ?? '';
        return nextStep?.id === 'follow-up';
      },
      { what: 'the follow-up planned' },
    );

    await expect(resendStep(ctx(), enrolled.enrollment.id, 'follow-up')).rejects.toMatchObject({
      kind: 'step-not-sent',
    });
    await resendStep(ctx(), enrolled.enrollment.id, 'welcome');
    await sentCount(enrolled, 2);
    const [first, again] = enrolled.sends();
    expect(again!.email.subject).toBe(first!.email.subject);
    expect(again!.idempotencyKey).not.toBe(first!.idempotencyKey); // a second delivery, not a retry
    await expect(resendStep(ctx(), enrolled.enrollment.id, 'welcome')).rejects.toMatchObject({
      kind: 'step-already-resent',
    });
    expect((await enrolled.state()).nextStep!.sendAt).toBe(dueBefore);
    expect(await ledger(enrolled.enrollment.id)).toEqual([
      { step: 'welcome', kind: 'first', status: 'sent', error: null },
      { step: 'welcome', kind: 'resend', status: 'sent', error: null },
    ]);
    await cancelEnrollment(ctx(), enrolled.enrollment.id);
  });
});
