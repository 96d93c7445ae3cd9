/**
 * The sequence lifecycle and enrollment operations through HTTP (S1–S6, E3, E7, E9, E11, T1):
 * status codes, problem types and fields, and what each answer leaves behind, against a real
 * PostgreSQL and the time-skipping Temporal server with a real worker. Nothing here waits on a
 * workflow's result, so the server's clock runs in real time: pending follow-ups stay pending.
 * Each test works in a workspace of its own.
 */
import { useApiWorld } from '../support/use-world.js';
import type { World } from '../support/world.js';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { StepInput } from '../../api/schemas/sequences.js';
import { Enrollment, EventLog, Sequence, SequenceVersion } from '../../db/entities/index.js';
import { stateQuery } from '../../workflows/messages.js';
import type { EnrollmentSnapshot } from '../../workflows/state.js';
import { apiClient, expectProblem } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { eventually } from '../support/wait.js';
import { threeSteps } from '../support/world.js';

const sender = new RecordingSender();
const api = useApiWorld({ sender });

const em = () => api.world.db.orm.em.fork();
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

/** A fresh workspace: its API client and helpers scoped to it. */
async function workspace() {
  const { ctx, apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  const patch = (url: string, payload: unknown) =>
    api.app.inject({
      method: 'PATCH',
      url,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
  const contact = (input: Parameters<World['contact']>[0] = {}) => api.world.contact(input, ctx);
  /** A published sequence, created and published through the API. */
  const published = async (input: Record<string, unknown> = {}) => {
    const created = await client.post('/sequences', { name: 'Onboarding', steps: threeSteps(), ...input });
    expect(created.statusCode).toBe(201);
    const answer = await client.post(`/sequences/${created.json().id}/publish`);
    expect(answer.statusCode).toBe(200);
    return answer.json();
  };
  const enroll = async (sequenceId: string, contactId: string) => {
    const response = await client.post(`/sequences/${sequenceId}/enrollments`, { contactId });
    expect(response.statusCode).toBe(201);
    return response.json();
  };
  return { ctx, apiKey, client, patch, contact, published, enroll };
}

const sendsTo = (email: string) => sender.sends.filter((send) => send.email.to === email);
const sentTo = (email: string, n: number) =>
  eventually(async () => sendsTo(email).length >= n, { what: `${n} email(s) to ${email}` });

const state = (workflowId: string) => api.env.client.workflow.getHandle(workflowId).query(stateQuery);
const stateOf = (workflowId: string, what: string, check: (state: EnrollmentSnapshot) => boolean) =>
  eventually(async () => check(await state(workflowId)) && (await state(workflowId)), { what });
/** Waits for a workflow to close without waiting on its result (that would skip time). */
const closed = (workflowId: string) =>
  eventually(
    async () => (await api.env.client.workflow.getHandle(workflowId).describe()).status.name !== 'RUNNING',
    { what: `${workflowId} closed` },
  );

const step = (id: string, overrides: Partial<StepInput> = {}): StepInput => ({
  id,
  name: id[0]!.toUpperCase() + id.slice(1),
  delay: 'P1D',
  subject: `About ${id}`,
  html: `<p>${id}</p>`,
  ...overrides,
});
/** How the API answers a saved step: every field, absent optional ones as null. */
const saved = (input: StepInput) => ({ expiresAfter: null, text: null, ...input });

describe('S1: drafts', () => {
  test('S1: a draft is saved and re-saved with PATCH and nothing is lost: GET returns exactly what was saved, templates that would not render included', async () => {
    const ws = await workspace();
    const broken = step('broken', { subject: 'Hi {{ contact.name', html: '<p>{{ x | shout }}</p>' });
    const created = await ws.client.post('/sequences', {
      name: 'Onboarding',
      steps: [step('welcome', { delay: 'PT0S' }), broken],
      triggerTags: ['trial'],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect(created.json()).toMatchObject({
      status: 'draft',
      draftSteps: [saved(step('welcome', { delay: 'PT0S' })), saved(broken)],
      liveVersion: null,
      liveSteps: null,
    });

    // Steps: a new list, one without an id (it gets one), one with every optional field.
    const full = step('full', { expiresAfter: 'PT12H', text: 'Plain {{ contact.name }}', delay: 'PT4H30M' });
    const stepsSaved = await ws.patch(`/sequences/${id}`, {
      steps: [broken, { name: 'No id yet', delay: 'P2D', subject: 'S', html: '<p>h</p>' }, full],
    });
    expect(stepsSaved.statusCode).toBe(200);
    const generated = stepsSaved.json().draftSteps[1];
    expect(generated.id).toMatch(/^[A-Za-z0-9_-]+$/);
    const draftSteps = [
      saved(broken),
      { ...saved({ name: 'No id yet', delay: 'P2D', subject: 'S', html: '<p>h</p>' }), id: generated.id },
      saved(full),
    ];
    expect(stepsSaved.json().draftSteps).toEqual(draftSteps);

    // Then the name alone, then settings alone: the steps saved before stay as they were.
    expect((await ws.patch(`/sequences/${id}`, { name: 'Onboarding v2' })).statusCode).toBe(200);
    const settings = {
      exitTags: ['customer'],
      activeTag: 'in-onboarding',
      sendWindow: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
      timeZone: 'Europe/Paris',
    };
    expect((await ws.patch(`/sequences/${id}`, settings)).statusCode).toBe(200);

    const read = await ws.client.get(`/sequences/${id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({
      id,
      name: 'Onboarding v2',
      status: 'draft',
      triggerTags: ['trial'],
      ...settings,
      draftSteps,
      liveVersion: null,
      liveSteps: null,
      createdAt: created.json().createdAt,
      updatedAt: expect.any(String),
      deletedAt: null,
    });
    const events = await em().find(
      EventLog,
      { sequence: id, type: 'sequence.updated' },
      { orderBy: { id: 'asc' } },
    );
    expect(events.map((event) => event.data.fields)).toEqual([
      ['steps'],
      ['name'],
      ['activeTag', 'exitTags', 'sendWindow', 'timeZone'],
    ]);
  });

  test('S1: a draft refuses enrollments (409 sequence-not-published) and pause and resume (409)', async () => {
    const ws = await workspace();
    const created = await ws.client.post('/sequences', { name: 'Draft', steps: threeSteps() });
    const id = created.json().id;
    const contact = await ws.contact();

    const enroll = await ws.client.post(`/sequences/${id}/enrollments`, { contactId: contact.id });
    expect(expectProblem(enroll, 409, '/params/sequenceId').type).toBe(
      'urn:nudge:problem:sequence-not-published',
    );
    for (const action of ['pause', 'resume']) {
      const refused = expectProblem(
        await ws.client.post(`/sequences/${id}/${action}`),
        409,
        '/params/sequenceId',
      );
      expect(refused.type).toBe('urn:nudge:problem:sequence-not-published');
    }
    const bulk = await ws.client.post(`/sequences/${id}/enrollments/bulk`, {
      contacts: [{ contactId: contact.id }],
    });
    expect(expectProblem(bulk, 409).type).toBe('urn:nudge:problem:sequence-not-published');

    expect((await ws.client.get(`/sequences/${id}`)).json()).toMatchObject({
      status: 'draft',
      liveVersion: null,
    });
    expect(await em().count(Enrollment, { sequence: id })).toBe(0);
    expect((await em().findOneOrFail(Sequence, id)).revision).toBe(0); // nothing was changed
  });
});

describe('S2: publishing', () => {
  test('S2: publish refuses a draft with no steps, and one whose template does not render, naming the step (422)', async () => {
    const ws = await workspace();
    const id = (await ws.client.post('/sequences', { name: 'Empty', steps: [] })).json().id;

    const empty = expectProblem(await ws.client.post(`/sequences/${id}/publish`), 422, '/draftSteps');
    expect(empty.type).toBe('urn:nudge:problem:unpublishable');

    await ws.patch(`/sequences/${id}`, {
      steps: [step('fine', { delay: 'PT0S' }), step('broken', { html: '<p>{{ contact.name | shout }}</p>' })],
    });
    const broken = expectProblem(await ws.client.post(`/sequences/${id}/publish`), 422, '/draftSteps/1/html');
    expect(broken).toMatchObject({ type: 'urn:nudge:problem:template', stepId: 'broken', part: 'html' });
    expect(broken.detail).toMatch(/^Step 2 'Broken' \(broken\) html: .*shout/);

    expect((await ws.client.get(`/sequences/${id}`)).json()).toMatchObject({
      status: 'draft',
      liveVersion: null,
      liveSteps: null,
    });
    expect(await em().count(SequenceVersion, { sequence: id })).toBe(0);
  });

  test('S2: publishing makes version n+1 live; edits to a published sequence stay in the draft until published again', async () => {
    const ws = await workspace();
    const first = await ws.published();
    expect(first).toMatchObject({ status: 'active', liveVersion: 1, liveSteps: first.draftSteps });
    const v1 = first.liveSteps;

    const [welcome, followUp, last] = threeSteps();
    const edited = [
      { ...welcome!, subject: 'Welcome aboard' },
      followUp!,
      last!,
      step('bonus', { delay: 'P2D' }),
    ];
    const patched = await ws.patch(`/sequences/${first.id}`, { steps: edited });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      status: 'active',
      liveVersion: 1,
      liveSteps: v1,
      draftSteps: edited.map(saved),
    });
    expect((await ws.client.get(`/sequences/${first.id}`)).json().liveSteps).toEqual(v1);

    const second = await ws.client.post(`/sequences/${first.id}/publish`);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ status: 'active', liveVersion: 2, liveSteps: edited.map(saved) });

    // A paused sequence takes a new version and stays paused.
    expect((await ws.client.post(`/sequences/${first.id}/pause`)).statusCode).toBe(200);
    await ws.patch(`/sequences/${first.id}`, { steps: [welcome!] });
    const third = await ws.client.post(`/sequences/${first.id}/publish`);
    expect(third.json()).toMatchObject({ status: 'paused', liveVersion: 3, liveSteps: [saved(welcome!)] });

    // Versions are immutable snapshots, one per publish.
    const versions = await em().find(
      SequenceVersion,
      { sequence: first.id },
      { orderBy: { version: 'asc' } },
    );
    expect(versions.map((v) => [v.version, v.steps.map((s) => s.subject)])).toEqual([
      [1, v1.map((s: { subject: string }) => s.subject)],
      [2, ['Welcome aboard', 'Following up', 'Last note', 'About bonus']],
      [3, [welcome!.subject]],
    ]);
  });
});

describe('S3/S4: pause and resume through HTTP', () => {
  test('S3: pause answers 200 paused; a paused sequence refuses enrollments (409 sequence-paused) and records the attempt; pausing twice changes nothing; S4: resume answers active', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const inside = await ws.contact();
    const outside = await ws.contact();
    const enrollment = await ws.enroll(sequence.id, inside.id);
    await sentTo(inside.email, 1);

    const paused = await ws.client.post(`/sequences/${sequence.id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ id: sequence.id, status: 'paused', liveVersion: 1 });
    const revision = (await em().findOneOrFail(Sequence, sequence.id)).revision;
    await stateOf(enrollment.workflowId, 'held by the sequence', (s) => s.heldBy.includes('sequence'));
    // The enrollment's own status is its own (E8): the sequence holds it, it is not paused itself.
    expect((await ws.client.get(`/enrollments/${enrollment.id}`)).json().status).toBe('active');

    const refused = await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: outside.id });
    expect(expectProblem(refused, 409, '/params/sequenceId').type).toBe('urn:nudge:problem:sequence-paused');
    expect(await em().count(Enrollment, { contact: outside.id })).toBe(0);
    const attempts = await em().find(EventLog, { sequence: sequence.id, type: 'enrollment.refused' });
    expect(attempts.map((e) => [e.contact, e.data.reason])).toEqual([[outside.id, 'sequence_paused']]);

    const again = await ws.client.post(`/sequences/${sequence.id}/pause`);
    expect(again.statusCode).toBe(200);
    expect(again.json().status).toBe('paused');
    expect((await em().findOneOrFail(Sequence, sequence.id)).revision).toBe(revision);
    expect(await em().count(EventLog, { sequence: sequence.id, type: 'sequence.paused' })).toBe(1);

    const resumed = await ws.client.post(`/sequences/${sequence.id}/resume`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json().status).toBe('active');
    await stateOf(enrollment.workflowId, 'released', (s) => s.heldBy.length === 0 && s.status === 'active');
    expect((await ws.client.post(`/sequences/${sequence.id}/resume`)).json().status).toBe('active');
    expect(await em().count(EventLog, { sequence: sequence.id, type: 'sequence.resumed' })).toBe(1);

    expect(
      (await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: outside.id })).statusCode,
    ).toBe(201);
    expect(sendsTo(inside.email)).toHaveLength(1); // the follow-up is days away, pause or not
  });
});

describe('E11: tag settings edited with PATCH', () => {
  test('E11: trigger and exit tags are checked as they will be, stored lists overridden by the patch; the refused change writes nothing', async () => {
    const ws = await workspace();
    const sequence = await ws.published({ triggerTags: ['trial'], exitTags: ['customer'] });

    const triggers = await ws.patch(`/sequences/${sequence.id}`, { triggerTags: ['trial', 'customer'] });
    expect(expectProblem(triggers, 400, '/body/triggerTags').detail).toMatch(/customer/);
    const exits = await ws.patch(`/sequences/${sequence.id}`, { exitTags: ['trial'], name: 'Renamed' });
    expect(expectProblem(exits, 400, '/body/exitTags').detail).toMatch(/trial/);
    expect((await ws.client.get(`/sequences/${sequence.id}`)).json()).toMatchObject({
      name: 'Onboarding',
      triggerTags: ['trial'],
      exitTags: ['customer'],
    });

    // Both lists replaced at once: checked against each other, not against the stored ones.
    const swapped = await ws.patch(`/sequences/${sequence.id}`, {
      triggerTags: ['customer'],
      exitTags: ['trial'],
    });
    expect(swapped.statusCode).toBe(200);
    expect(swapped.json()).toMatchObject({ triggerTags: ['customer'], exitTags: ['trial'] });
  });
});

describe('S6: delete', () => {
  test('S6: DELETE ends live enrollments and keeps their records: the sequence is gone, the enrollment readable as cancelled (sequence_deleted) with its deliveries; again is a 404', async () => {
    const ws = await workspace();
    const sequence = await ws.published({ activeTag: 'in-onboarding' });
    const [live, stopped] = [await ws.contact(), await ws.contact()];
    const liveEnrollment = await ws.enroll(sequence.id, live.id);
    const stoppedEnrollment = await ws.enroll(sequence.id, stopped.id);
    await sentTo(live.email, 1);
    await sentTo(stopped.email, 1);
    expect((await ws.client.post(`/enrollments/${stoppedEnrollment.id}/cancel`)).statusCode).toBe(200);

    const deleted = await ws.client.delete(`/sequences/${sequence.id}`);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ sequenceId: sequence.id, purged: false, enrollmentsEnded: 1 });

    expectProblem(await ws.client.get(`/sequences/${sequence.id}`), 404);
    expect((await ws.client.get('/sequences')).json().data.map((s: { id: string }) => s.id)).not.toContain(
      sequence.id,
    );
    const read = await ws.client.get(`/enrollments/${liveEnrollment.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      status: 'cancelled',
      endReason: 'sequence_deleted',
      currentStepId: null,
    });
    expect(
      read.json().deliveries.map((d: { stepId: string; status: string }) => [d.stepId, d.status]),
    ).toEqual([['welcome', 'sent']]);
    // An enrollment that had ended before keeps its own ending.
    expect((await ws.client.get(`/enrollments/${stoppedEnrollment.id}`)).json()).toMatchObject({
      status: 'cancelled',
      endReason: 'stopped',
    });
    expect((await ws.client.get(`/contacts/${live.id}`)).json().tags).toEqual([]);
    await closed(liveEnrollment.workflowId); // the fan-out reached the workflow
    expect(await state(liveEnrollment.workflowId)).toMatchObject({
      status: 'cancelled',
      endReason: 'sequence_deleted',
      nextStep: null,
    });

    for (const again of [
      ws.client.delete(`/sequences/${sequence.id}`),
      ws.patch(`/sequences/${sequence.id}`, { name: 'Back?' }),
      ws.client.post(`/sequences/${sequence.id}/pause`),
      ws.client.post(`/sequences/${sequence.id}/publish`),
      ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: live.id }),
      ws.client.post(`/sequences/${sequence.id}/re-enroll`, { all: true }),
    ]) {
      expect(expectProblem(await again, 404).type).toBe('urn:nudge:problem:not-found');
    }
    expect(sendsTo(live.email)).toHaveLength(1);
  });
});

describe('E3, E7, E9: enrollment operations through HTTP', () => {
  test('E3: restart answers 201 with generation 2 from step 1; the old enrollment is cancelled (restarted); a paused sequence refuses with 409 and stops nobody', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const contact = await ws.contact();
    const first = await ws.enroll(sequence.id, contact.id);
    await sentTo(contact.email, 1);

    const restarted = await ws.client.post(`/enrollments/${first.id}/restart`);
    expect(restarted.statusCode).toBe(201);
    const second = restarted.json();
    expect(second).toMatchObject({
      sequenceId: sequence.id,
      contactId: contact.id,
      generation: 2,
      status: 'active',
    });
    expect(restarted.headers.location).toBe(`/enrollments/${second.id}`);
    expect((await ws.client.get(`/enrollments/${first.id}`)).json()).toMatchObject({
      status: 'cancelled',
      endReason: 'restarted',
    });
    await sentTo(contact.email, 2); // step 1 again, for the new generation
    expect(sendsTo(contact.email).map((s) => s.idempotencyKey)).toEqual([
      `nudge/${first.id}/1/welcome/first`,
      `nudge/${second.id}/2/welcome/first`,
    ]);

    await ws.client.post(`/sequences/${sequence.id}/pause`);
    const refused = await ws.client.post(`/enrollments/${second.id}/restart`);
    expect(expectProblem(refused, 409, '/params/enrollmentId').type).toBe(
      'urn:nudge:problem:sequence-paused',
    );
    expect((await ws.client.get(`/enrollments/${second.id}`)).json().status).toBe('active');

    expectProblem(await ws.client.post(`/enrollments/${UNKNOWN}/restart`), 404);
  });

  test('E9: skip: a step that is not the pending one is a 409 step-not-pending; the pending one is skipped, recorded as skipped in the ledger', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const contact = await ws.contact();
    const enrollment = await ws.enroll(sequence.id, contact.id);
    await sentTo(contact.email, 1);
    await stateOf(enrollment.workflowId, 'waiting for the follow-up', (s) => s.nextStep?.id === 'follow-up');
    const skip = (stepId: string) => ws.client.post(`/enrollments/${enrollment.id}/steps/${stepId}/skip`);

    for (const stepId of ['last', 'welcome', 'nope']) {
      const refused = expectProblem(await skip(stepId), 409, '/params/stepId');
      expect(refused).toMatchObject({ type: 'urn:nudge:problem:step-not-pending', stepId });
      expect(refused.detail).toMatch(/pending step \(follow-up\)/);
    }

    const skipped = await skip('follow-up');
    expect(skipped.statusCode).toBe(200);
    expect(skipped.json()).toEqual({
      enrollmentId: enrollment.id,
      stepId: 'follow-up',
      status: expect.stringMatching(/^(skipped|accepted)$/),
    });
    const read = await eventually(
      async () => {
        const r = (await ws.client.get(`/enrollments/${enrollment.id}`)).json();
        return r.currentStepId === 'last' && r.deliveries.length === 2 ? r : null;
      },
      { what: 'the skip recorded' },
    );
    expect(read.deliveries.map((d: { stepId: string; status: string }) => [d.stepId, d.status])).toEqual([
      ['welcome', 'sent'],
      ['follow-up', 'skipped'],
    ]);
    expect(sendsTo(contact.email)).toHaveLength(1); // skipped, not sent
    expect((await skip('follow-up')).statusCode).toBe(409); // it is done; `last` is pending now
    expect(await em().count(EventLog, { enrollment: enrollment.id, type: 'step.skip_requested' })).toBe(1);

    await ws.client.post(`/enrollments/${enrollment.id}/cancel`);
    const ended = expectProblem(await skip('last'), 409);
    expect(ended.type).toBe('urn:nudge:problem:enrollment-ended');
  });

  test('E9: resend: an unsent step is a 409 step-not-sent; a sent step goes once more (200), a second resend is a 409 step-already-resent', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const contact = await ws.contact();
    const enrollment = await ws.enroll(sequence.id, contact.id);
    await sentTo(contact.email, 1);
    const resend = (stepId: string) => ws.client.post(`/enrollments/${enrollment.id}/steps/${stepId}/resend`);

    const unsent = expectProblem(await resend('follow-up'), 409, '/params/stepId');
    expect(unsent).toMatchObject({ type: 'urn:nudge:problem:step-not-sent', stepId: 'follow-up' });

    const resent = await resend('welcome');
    expect(resent.statusCode).toBe(200);
    expect(resent.json()).toEqual({
      enrollmentId: enrollment.id,
      stepId: 'welcome',
      status: expect.stringMatching(/^(resent|accepted)$/),
    });
    await sentTo(contact.email, 2);
    expect(sendsTo(contact.email).map((s) => s.idempotencyKey)).toEqual([
      `nudge/${enrollment.id}/1/welcome/first`,
      `nudge/${enrollment.id}/1/welcome/resend`,
    ]);
    await eventually(
      async () =>
        (await ws.client.get(`/enrollments/${enrollment.id}`))
          .json()
          .deliveries.some(
            (d: { kind: string; status: string }) => d.kind === 'resend' && d.status === 'sent',
          ),
      { what: 'the resend in the ledger' },
    );

    const twice = expectProblem(await resend('welcome'), 409, '/params/stepId');
    expect(twice.type).toBe('urn:nudge:problem:step-already-resent');
    expect(sendsTo(contact.email)).toHaveLength(2);
    expect((await state(enrollment.workflowId)).nextStep?.id).toBe('follow-up'); // the pending step is untouched
    await ws.client.post(`/enrollments/${enrollment.id}/cancel`);
  });

  test('E7: re-enroll answers one result per contact: never enrolled is invalid (not_in_sequence, naming its position), cancelled ones start again; `all` re-enrolls everyone not active and says what remains', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const [ada, bob, carl, stranger] = [
      await ws.contact(),
      await ws.contact(),
      await ws.contact(),
      await ws.contact(),
    ];
    const enrollments = [
      await ws.enroll(sequence.id, ada.id),
      await ws.enroll(sequence.id, bob.id),
      await ws.enroll(sequence.id, carl.id),
    ];
    for (const enrollment of enrollments.slice(0, 2))
      await ws.client.post(`/enrollments/${enrollment.id}/cancel`);

    const listed = await ws.client.post(`/sequences/${sequence.id}/re-enroll`, {
      contactIds: [stranger.id, ada.id, carl.id],
    });
    expect(listed.statusCode).toBe(200);
    const body = listed.json();
    expect(body.results.map((r: any) => [r.index, r.status, r.reason, r.field])).toEqual([
      [0, 'invalid', 'not_in_sequence', '/body/contactIds/0'],
      [1, 'enrolled', null, null],
      [2, 'already_active', null, null],
    ]);
    expect(body.summary).toEqual({ enrolled: 1, alreadyActive: 1, ineligible: 0, invalid: 1, failed: 0 });
    expect(body.remaining).toBe(0);
    const adaAgain = (await ws.client.get(`/enrollments/${body.results[1].enrollmentId}`)).json();
    expect(adaAgain).toMatchObject({ contactId: ada.id, generation: 2, status: 'active' });

    const everyone = (await ws.client.post(`/sequences/${sequence.id}/re-enroll`, { all: true })).json();
    expect(everyone.results.map((r: any) => [r.contactId, r.status])).toEqual([[bob.id, 'enrolled']]);
    expect(everyone.remaining).toBe(0);
    const nobody = (await ws.client.post(`/sequences/${sequence.id}/re-enroll`, { all: true })).json();
    expect(nobody).toMatchObject({ results: [], remaining: 0 });

    await ws.client.post(`/sequences/${sequence.id}/pause`);
    const paused = await ws.client.post(`/sequences/${sequence.id}/re-enroll`, { all: true });
    expect(expectProblem(paused, 409, '/params/sequenceId').type).toBe('urn:nudge:problem:sequence-paused');
  });

  test('E7: a re-enroll body needs exactly one of `contactIds` and `all` (400 naming the field)', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const reEnroll = (body: unknown) => ws.client.post(`/sequences/${sequence.id}/re-enroll`, body as object);

    for (const [body, field] of [
      [{}, '/body/contactIds'],
      [{ contactIds: [UNKNOWN], all: true }, '/body/all'],
      [{ all: false }, '/body/all'],
      [{ contactIds: [] }, '/body/contactIds'],
      [{ contactIds: ['not-a-uuid'] }, '/body/contactIds/0'],
      [{ all: true, extra: 1 }, '/body/extra'],
    ] as const) {
      const refused = expectProblem(await reEnroll(body), 400, field);
      expect(refused.type).toBe('urn:nudge:problem:validation');
    }
  });
});

describe('bad input to the lifecycle routes', () => {
  test('an id that is not a uuid is a 400 naming the parameter, on every new route', async () => {
    const ws = await workspace();
    const uuid = randomUUID();
    const calls: [Promise<{ statusCode: number; headers: Record<string, unknown>; json(): any }>, string][] =
      [
        [ws.patch('/sequences/nope', { name: 'x' }), '/params/sequenceId'],
        [ws.client.post('/sequences/nope/pause'), '/params/sequenceId'],
        [ws.client.post('/sequences/nope/resume'), '/params/sequenceId'],
        [ws.client.delete('/sequences/nope'), '/params/sequenceId'],
        [ws.client.post('/sequences/nope/re-enroll', { all: true }), '/params/sequenceId'],
        [ws.client.post('/enrollments/nope/restart'), '/params/enrollmentId'],
        [ws.client.post('/enrollments/nope/steps/welcome/skip'), '/params/enrollmentId'],
        [ws.client.post('/enrollments/nope/steps/welcome/resend'), '/params/enrollmentId'],
        [ws.client.post(`/enrollments/${uuid}/steps/not%20a%20step/skip`), '/params/stepId'],
        [ws.client.post(`/enrollments/${uuid}/steps/${'x'.repeat(65)}/resend`), '/params/stepId'],
      ];
    for (const [call, field] of calls) {
      expect(expectProblem(await call, 400, field).type).toBe('urn:nudge:problem:validation');
    }
    // Well-formed ids that name nothing (here) are 404s.
    for (const call of [
      ws.patch(`/sequences/${uuid}`, { name: 'x' }),
      ws.client.post(`/sequences/${uuid}/pause`),
      ws.client.post(`/sequences/${uuid}/resume`),
      ws.client.delete(`/sequences/${uuid}`),
      ws.client.post(`/enrollments/${uuid}/steps/welcome/skip`),
      ws.client.post(`/enrollments/${uuid}/steps/welcome/resend`),
    ]) {
      expectProblem(await call, 404);
    }
  });

  test('PATCH /sequences/:id refuses an empty body, unknown properties and bad values (400 naming the field) and changes nothing', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    const url = `/sequences/${sequence.id}`;

    for (const [body, field] of [
      [{}, '/body'],
      [null, '/body'],
      [{ nmae: 'typo' }, '/body/nmae'],
      [{ name: '' }, '/body/name'],
      [{ timeZone: 'Mars/Olympus_Mons' }, '/body/timeZone'],
      [{ sendWindow: { days: [8], start: '09:00', end: '17:00' } }, '/body/sendWindow/days/0'],
      [{ steps: [{ name: 'No delay', subject: 's', html: 'h' }] }, '/body/steps/0/delay'],
      [{ steps: [step('twice'), step('twice')] }, '/body/steps/1/id'],
      [{ steps: [step('bad', { delay: 'three days' })] }, '/body/steps/0/delay'],
    ] as const) {
      expectProblem(await ws.patch(url, body), 400, field);
    }
    const read = (await ws.client.get(url)).json();
    expect(read).toEqual({ ...sequence, updatedAt: read.updatedAt });
    expect((await em().findOneOrFail(Sequence, sequence.id)).revision).toBe(1); // only the publish
  });

  test('DELETE /sequences/:id takes only a boolean `purge` (400 naming the query parameter)', async () => {
    const ws = await workspace();
    const sequence = await ws.published();
    expectProblem(await ws.client.delete(`/sequences/${sequence.id}?purge=maybe`), 400, '/query/purge');
    expectProblem(await ws.client.delete(`/sequences/${sequence.id}?force=true`), 400, '/query/force');
    expect((await ws.client.get(`/sequences/${sequence.id}`)).json().status).toBe('active');
  });
});

describe('T1: the contact time zone', () => {
  /** An enrollment in Tokyo waiting for a one-hour window that is closed now in Tokyo and New York. */
  async function waitingInTokyo(ws: Awaited<ReturnType<typeof workspace>>) {
    const hour = (DateTime.now().setZone('Asia/Tokyo').hour + 12) % 24;
    const sequence = await ws.published({
      sendWindow: { days: [1, 2, 3, 4, 5, 6, 7], start: hh(hour), end: hh(hour + 1) },
      steps: [step('only', { delay: 'PT0S' })],
    });
    const contact = await ws.contact({ timeZone: 'Asia/Tokyo' });
    const enrollment = await ws.enroll(sequence.id, contact.id);
    const before = await stateOf(enrollment.workflowId, 'planned', (s) => s.nextStep?.id === 'only');
    expect(localSendAt(before, 'Asia/Tokyo')).toBe(hh(hour));
    /** Checks the pending step moved to the same local hour in New York, its due time unchanged. */
    const movedToNewYork = async () => {
      const after = await stateOf(
        enrollment.workflowId,
        'the send time moved to New York',
        (s) => s.nextStep !== null && s.nextStep.sendAt !== before.nextStep!.sendAt,
      );
      expect(localSendAt(after, 'America/New_York')).toBe(hh(hour));
      expect(after.nextStep!.dueAt).toBe(before.nextStep!.dueAt); // the due time itself does not move
      expect(sendsTo(contact.email)).toHaveLength(0);
      await ws.client.post(`/enrollments/${enrollment.id}/cancel`);
    };
    return { contact, movedToNewYork };
  }
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const localSendAt = (s: EnrollmentSnapshot, zone: string) =>
    DateTime.fromISO(s.nextStep!.sendAt).setZone(zone).toFormat('HH:mm');

  test("T1: changing a contact's time zone re-plans its live enrollments at once: the pending step moves to the new zone's send window", async () => {
    const ws = await workspace();
    const { contact, movedToNewYork } = await waitingInTokyo(ws);
    const patched = await ws.patch(`/contacts/${contact.id}`, { timeZone: 'America/New_York' });
    expect(patched.statusCode).toBe(200);
    await movedToNewYork();
  });

  test("T1: bulk enrollment that changes an existing contact's time zone re-plans its enrollments in other sequences", async () => {
    const ws = await workspace();
    const { contact, movedToNewYork } = await waitingInTokyo(ws);
    const other = await ws.published({ steps: [step('later', { delay: 'P30D' })] });
    const bulk = await ws.client.post(`/sequences/${other.id}/enrollments/bulk`, {
      contacts: [{ email: contact.email, timeZone: 'America/New_York' }],
    });
    expect(bulk.json().results[0]).toMatchObject({ status: 'enrolled', contactCreated: false });
    await movedToNewYork();
  });
});
