/**
 * Tags, triggers and exit goals through the API (E6, E11, E12, E10, E5, S3, S7), against a
 * real PostgreSQL and the time-skipping Temporal server with a real worker. Triggers reach
 * every sequence of a workspace, so each test works in a workspace of its own.
 */
import { useApiWorld } from '../support/use-world.js';
import { silentLogger } from '../support/world.js';
import type { World } from '../support/world.js';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { buildApp } from '../../api/app.js';
import type { ServiceContext } from '../../api/context.js';
import { createSequence } from '../../api/services/sequences.js';
import { Contact, Enrollment, EventLog, Sequence, type SequenceStatus } from '../../db/entities/index.js';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { eventually } from '../support/wait.js';

const sender = new RecordingSender();
const api = useApiWorld({ sender });

const em = () => api.world.db.orm.em.fork();

/** A fresh workspace: its API client, its service context and helpers scoped to it. */
async function workspace(on: App = api.app) {
  const { ctx, apiKey } = await api.world.workspace();
  const client = apiClient(on, apiKey);
  const patch = (url: string, payload: object) =>
    on.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${apiKey}` }, payload });
  const sequence = (input: Parameters<World['publishedSequence']>[0] = {}) =>
    api.world.publishedSequence(input, ctx);
  const contact = (input: Parameters<World['contact']>[0] = {}) => api.world.contact(input, ctx);
  return { ctx, apiKey, client, patch, sequence, contact };
}

async function setStatus(sequenceId: string, status: SequenceStatus) {
  await em().nativeUpdate(Sequence, { id: sequenceId }, { status });
}

const enrollmentsOf = (contactId: string, sequenceId?: string) =>
  em().find(
    Enrollment,
    { contact: contactId, ...(sequenceId ? { sequence: sequenceId } : {}) },
    { orderBy: { generation: 'asc' } },
  );

const sendsTo = (email: string) => sender.sends.filter((send) => send.email.to === email);

/** Waits for the `n`-th welcome email to this contact (one per generation). */
const welcomed = (email: string, n = 1) =>
  eventually(async () => sendsTo(email).filter((s) => s.email.subject.startsWith('Welcome')).length >= n, {
    what: `welcome email #${n} to ${email}`,
  });

const handleOf = (workflowId: string) =>
  api.env.client.workflow.getHandle<typeof enrollmentWorkflow>(workflowId);

describe('E6: triggers', () => {
  test('E6: applying a trigger tag enrolls the contact into every active sequence that triggers on it', async () => {
    const ws = await workspace();
    const onboarding = await ws.sequence({ name: 'Onboarding', triggerTags: ['trial'] });
    const nurture = await ws.sequence({ name: 'Nurture', triggerTags: ['trial', 'lead'] });
    const unrelated = await ws.sequence({ name: 'Unrelated', triggerTags: ['customer'] });
    const draft = await createDraft(ws.ctx, { triggerTags: ['trial'] });
    const deleted = await ws.sequence({ triggerTags: ['trial'] });
    await setStatus(deleted.id, 'deleted');
    const contact = await ws.contact({ tags: ['newsletter'] });

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });

    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.tags).toEqual(['newsletter', 'trial']);
    expect(body.completed).toEqual([]);
    const enrollments = await enrollmentsOf(contact.id);
    expect(enrollments.map((e) => [e.sequence, e.status, e.generation]).sort()).toEqual(
      [
        [onboarding.id, 'active', 1],
        [nurture.id, 'active', 1],
      ].sort(),
    );
    expect(body.triggered).toEqual(
      [onboarding, nurture].map((s) => ({
        sequenceId: s.id,
        result: 'enrolled',
        enrollmentId: enrollments.find((e) => e.sequence === s.id)!.id,
        reason: null,
      })),
    );
    expect(enrollments.some((e) => [unrelated.id, draft.id, deleted.id].includes(e.sequence))).toBe(false);
    await welcomed(contact.email, 2); // step 1 of each sequence goes out (E1)
  });

  test('E6: a contact created with a trigger tag is enrolled, and the answer says so', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['signup'] });
    const email = `${randomUUID()}@example.com`;

    const response = await ws.client.post('/contacts', { email, name: 'Ada Lovelace', tags: ['signup'] });

    expect(response.statusCode).toBe(201);
    const body = response.json();
    const [enrollment] = await enrollmentsOf(body.id, sequence.id);
    expect(enrollment).toMatchObject({ status: 'active', generation: 1 });
    expect(body).toMatchObject({
      email,
      tags: ['signup'],
      triggered: [
        { sequenceId: sequence.id, result: 'enrolled', enrollmentId: enrollment!.id, reason: null },
      ],
      completed: [],
    });
    await welcomed(email);
  });

  test('E6/E2: a tag the contact already carries sets nothing off; another trigger of a live sequence answers already_active', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['trial', 'demo'] });
    const contact = await ws.contact();
    const first = (await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] })).json();
    await welcomed(contact.email);

    const again = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });
    expect(again.json()).toMatchObject({ tags: ['trial'], triggered: [], completed: [] });

    const other = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['demo'] });
    expect(other.json().triggered).toEqual([
      {
        sequenceId: sequence.id,
        result: 'already_active',
        enrollmentId: first.triggered[0].enrollmentId,
        reason: null,
      },
    ]);
    expect(await enrollmentsOf(contact.id)).toHaveLength(1);
    expect(sendsTo(contact.email)).toHaveLength(1); // not reset: no second welcome
  });

  test('E6/E1: a contact who was cancelled, or completed, starts again from step 1 when triggered again', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['trial'], exitTags: ['customer'] });
    const contact = await ws.contact();
    const retrigger = async () => {
      expect((await ws.client.delete(`/contacts/${contact.id}/tags/trial`)).statusCode).toBe(200);
      return (await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] })).json();
    };

    await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });
    await welcomed(contact.email, 1);
    await ws.client.delete(`/sequences/${sequence.id}/contacts/${contact.id}`); // cancelled (S7)
    const second = await retrigger();
    expect(second.triggered).toMatchObject([{ sequenceId: sequence.id, result: 'enrolled' }]);
    await welcomed(contact.email, 2);

    await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['customer'] }); // completed (E11)
    await ws.client.delete(`/contacts/${contact.id}/tags/customer`);
    const third = await retrigger();
    expect(third.triggered).toMatchObject([{ sequenceId: sequence.id, result: 'enrolled' }]);
    await welcomed(contact.email, 3);

    const enrollments = await enrollmentsOf(contact.id, sequence.id);
    expect(enrollments.map((e) => [e.generation, e.status, e.endReason])).toEqual([
      [1, 'cancelled', 'removed'],
      [2, 'completed', 'goal'],
      [3, 'active', null],
    ]);
    expect(third.triggered[0].enrollmentId).toBe(enrollments[2]!.id);
  });

  test('S3: a trigger on a paused sequence records the attempt and enrolls nobody', async () => {
    const ws = await workspace();
    const paused = await ws.sequence({ triggerTags: ['trial'] });
    await setStatus(paused.id, 'paused');
    const contact = await ws.contact();

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });

    expect(response.statusCode).toBe(200);
    expect(response.json().triggered).toEqual([
      { sequenceId: paused.id, result: 'refused', enrollmentId: null, reason: 'sequence_paused' },
    ]);
    expect(await enrollmentsOf(contact.id)).toEqual([]);
    const attempts = await em().find(EventLog, { contact: contact.id, type: 'enrollment.refused' });
    expect(attempts.map((e) => [e.sequence, e.data])).toEqual([[paused.id, { reason: 'sequence_paused' }]]);
    // Not queued: resuming the sequence enrolls nobody either.
    await setStatus(paused.id, 'active');
    expect(await enrollmentsOf(contact.id)).toEqual([]);
    expect(response.json().tags).toEqual(['trial']); // the tag itself is applied
  });

  test('E12: a trigger for a suppressed contact is recorded ineligible and sends nothing', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['trial'], activeTag: 'in-onboarding' });
    const contact = await ws.contact();
    await em().nativeUpdate(
      Contact,
      { id: contact.id },
      { suppression: 'unsubscribed', suppressedAt: new Date() },
    );

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });

    const [enrollment] = await enrollmentsOf(contact.id);
    expect(enrollment).toMatchObject({ sequence: sequence.id, status: 'ineligible' });
    expect(response.json()).toMatchObject({
      tags: ['trial'], // no active tag: it is not in the sequence
      triggered: [
        {
          sequenceId: sequence.id,
          result: 'ineligible',
          enrollmentId: enrollment!.id,
          reason: 'contact_unsubscribed',
        },
      ],
    });
    expect(sendsTo(contact.email)).toEqual([]);
  });

  test('bulk enrollment adds tags without firing other sequences’ triggers', async () => {
    const ws = await workspace();
    const target = await ws.sequence({ name: 'Target' });
    const triggered = await ws.sequence({ name: 'Triggered by trial', triggerTags: ['trial'] });
    const email = `${randomUUID()}@example.com`;

    const bulk = await ws.client.post(`/sequences/${target.id}/enrollments/bulk`, {
      contacts: [{ email, tags: ['trial'] }],
    });

    expect(bulk.json().results).toMatchObject([{ status: 'enrolled' }]);
    const contact = await em().findOneOrFail(Contact, { email, workspace: ws.ctx.workspaceId });
    expect(contact.tags).toEqual(['trial']);
    expect((await enrollmentsOf(contact.id)).map((e) => e.sequence)).toEqual([target.id]);
    expect(await enrollmentsOf(contact.id, triggered.id)).toEqual([]);
  });
});

describe('E11: exit goals', () => {
  test('E11: an exit tag ends the enrollment completed (goal) and removes the active tag', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({
      triggerTags: ['trial'],
      exitTags: ['customer'],
      activeTag: 'in-onboarding',
    });
    const contact = await ws.contact();
    const enrolled = (await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] })).json();
    expect(enrolled.tags).toEqual(['trial', 'in-onboarding']);
    await welcomed(contact.email);
    const listed = async () =>
      (await ws.client.get(`/contacts?activeInSequence=${sequence.id}`)).json().data.map((c: any) => c.id);
    expect(await listed()).toEqual([contact.id]);

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['customer'] });

    expect(response.statusCode).toBe(200);
    const enrollmentId = enrolled.triggered[0].enrollmentId;
    expect(response.json()).toMatchObject({
      tags: ['trial', 'customer'],
      completed: [{ sequenceId: sequence.id, enrollmentId }],
      triggered: [],
    });
    const row = await em().findOneOrFail(Enrollment, enrollmentId);
    expect(row).toMatchObject({ status: 'completed', endReason: 'goal' });
    // The workflow ends there: no step after the welcome is ever sent.
    const result = await handleOf(row.workflowId).result();
    expect(result).toMatchObject({ status: 'completed', reason: 'goal', doneStepIds: ['welcome'] });
    expect(sendsTo(contact.email).map((s) => s.email.subject)).toEqual(['Welcome, Ada']);
    expect(await listed()).toEqual([]);
    expect((await em().findOneOrFail(Contact, contact.id)).tags).toEqual(['trial', 'customer']);
  });

  test('E11: an exit tag completes a paused enrollment too, and does nothing where the contact is not live', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ exitTags: ['customer'] });
    const elsewhere = await ws.sequence({ exitTags: ['customer'] });
    const contact = await ws.contact();
    const enrolled = await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    await ws.client.post(`/enrollments/${enrolled.json().id}/pause`);

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['customer'] });

    expect(response.json().completed).toEqual([
      { sequenceId: sequence.id, enrollmentId: enrolled.json().id },
    ]);
    expect(await enrollmentsOf(contact.id, elsewhere.id)).toEqual([]);
    expect((await em().findOneOrFail(Enrollment, enrolled.json().id)).status).toBe('completed');
  });

  test('E11/E6: exits are processed before triggers: a goal and a trigger of one sequence in one request start a new generation', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['webinar'], exitTags: ['booked'] });
    const contact = await ws.contact();
    const first = await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    await welcomed(contact.email);

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['booked', 'webinar'] });

    const [gen1, gen2] = await enrollmentsOf(contact.id, sequence.id);
    expect(gen1).toMatchObject({ id: first.json().id, status: 'completed', endReason: 'goal' });
    expect(gen2).toMatchObject({ generation: 2, status: 'active' });
    expect(response.json()).toMatchObject({
      completed: [{ sequenceId: sequence.id, enrollmentId: gen1!.id }],
      triggered: [{ sequenceId: sequence.id, result: 'enrolled', enrollmentId: gen2!.id }],
    });
    await welcomed(contact.email, 2);
  });

  test('E11: a sequence whose trigger and exit tags overlap is refused, naming the field', async () => {
    const ws = await workspace();
    const before = await em().count(Sequence, { workspace: ws.ctx.workspaceId });
    const response = await ws.client.post('/sequences', {
      name: 'Confused',
      steps: [{ name: 'Hi', delay: 'PT0S', subject: 'Hi', html: '<p>Hi</p>' }],
      triggerTags: ['trial', 'demo'],
      exitTags: ['customer', 'demo'],
    });
    const problem = expectProblem(response, 400, '/body/exitTags');
    expect(problem.detail).toContain('demo');
    expect(await em().count(Sequence, { workspace: ws.ctx.workspaceId })).toBe(before);
  });
});

describe('E11: the active tag cannot be made to lie', () => {
  test('E11: taking a live enrollment’s active tag off by hand is refused (409), by DELETE or by PATCH', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ activeTag: 'in-onboarding' });
    const contact = await ws.contact({ tags: ['lead'] });
    await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });

    const deleted = await ws.client.delete(`/contacts/${contact.id}/tags/in-onboarding`);
    const problem = expectProblem(deleted, 409, '/params/tag');
    expect(problem).toMatchObject({
      type: 'urn:nudge:problem:managed-tag',
      tag: 'in-onboarding',
      sequenceId: sequence.id,
    });
    expectProblem(await ws.patch(`/contacts/${contact.id}`, { tags: ['lead'] }), 409, '/body/tags');
    expect((await em().findOneOrFail(Contact, contact.id)).tags).toEqual(['lead', 'in-onboarding']);

    // A PATCH that keeps it is fine; removing the contact from the sequence takes it off (S7).
    const kept = await ws.patch(`/contacts/${contact.id}`, { tags: ['in-onboarding', 'vip'] });
    expect(kept.statusCode).toBe(200);
    expect(kept.json().tags).toEqual(['in-onboarding', 'vip']);
    await ws.client.delete(`/sequences/${sequence.id}/contacts/${contact.id}`);
    expect((await ws.client.get(`/contacts/${contact.id}`)).json().tags).toEqual(['vip']);
  });

  test('E11: putting an active tag on by hand, without the enrollment, is refused (409) and writes nothing', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ activeTag: 'in-onboarding' });
    const contact = await ws.contact();

    const added = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['vip', 'in-onboarding'] });
    expect(expectProblem(added, 409, '/body/tags').sequenceId).toBe(sequence.id);
    expectProblem(await ws.patch(`/contacts/${contact.id}`, { tags: ['in-onboarding'] }), 409, '/body/tags');
    const email = `${randomUUID()}@example.com`;
    expectProblem(await ws.client.post('/contacts', { email, tags: ['in-onboarding'] }), 409, '/body/tags');

    expect((await em().findOneOrFail(Contact, contact.id)).tags).toEqual([]);
    expect(await em().count(Contact, { email })).toBe(0);
    expect((await ws.client.get(`/contacts?activeInSequence=${sequence.id}`)).json().data).toEqual([]);
  });
});

describe('PATCH /contacts/:contactId', () => {
  test('fields replace, attributes merge key by key (null removes), tags replace the set and added ones trigger (E6)', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['trial'] });
    const contact = await ws.contact({
      name: 'Ada',
      timeZone: 'Europe/London',
      attributes: { plan: 'free', seats: 1, company: 'AE' },
      tags: ['lead', 'newsletter'],
    });

    const response = await ws.patch(`/contacts/${contact.id}`, {
      name: 'Ada Lovelace',
      timeZone: 'America/New_York',
      attributes: { plan: 'pro', seats: null, trial_ends: '2026-12-01' },
      tags: ['newsletter', 'trial'],
    });

    expect(response.statusCode).toBe(200);
    const [enrollment] = await enrollmentsOf(contact.id, sequence.id);
    expect(response.json()).toMatchObject({
      email: contact.email,
      name: 'Ada Lovelace',
      timeZone: 'America/New_York',
      attributes: { plan: 'pro', company: 'AE', trial_ends: '2026-12-01' },
      tags: ['newsletter', 'trial'],
      triggered: [{ sequenceId: sequence.id, result: 'enrolled', enrollmentId: enrollment!.id }],
    });
    expect(response.json().attributes).not.toHaveProperty('seats');
    const read = (await ws.client.get(`/contacts/${contact.id}`)).json();
    expect(read).toMatchObject({ name: 'Ada Lovelace', tags: ['newsletter', 'trial'] });

    const untouched = await ws.patch(`/contacts/${contact.id}`, { name: null });
    expect(untouched.json()).toMatchObject({
      name: null,
      timeZone: 'America/New_York',
      tags: ['newsletter', 'trial'],
      triggered: [],
    });
  });

  test('a tag with spaces and slashes is removed by its URL-encoded name; removing a tag the contact lacks changes nothing', async () => {
    const ws = await workspace();
    const contact = await ws.contact({ tags: ['plan: pro/annual', 'lead'] });
    const removed = await ws.client.delete(
      `/contacts/${contact.id}/tags/${encodeURIComponent('plan: pro/annual')}`,
    );
    expect(removed.statusCode).toBe(200);
    expect(removed.json().tags).toEqual(['lead']);
    const absent = await ws.client.delete(`/contacts/${contact.id}/tags/vip`);
    expect(absent.statusCode).toBe(200);
    expect(absent.json().tags).toEqual(['lead']);

    // The longest tag fits in a path even URL-encoded (12 characters per emoji); one more is a 400.
    const longest = '🏷'.repeat(100);
    await ws.client.post(`/contacts/${contact.id}/tags`, { tags: [longest] });
    const removedLongest = await ws.client.delete(
      `/contacts/${contact.id}/tags/${encodeURIComponent(longest)}`,
    );
    expect(removedLongest.json().tags).toEqual(['lead']);
    expectProblem(
      await ws.client.delete(`/contacts/${contact.id}/tags/${encodeURIComponent(`${longest}x`)}`),
      400,
      '/params/tag',
    );
  });

  test('a PATCH body of JSON null is a 400, not an empty update', async () => {
    const ws = await workspace();
    const contact = await ws.contact();
    const response = await api.app.inject({
      method: 'PATCH',
      url: `/contacts/${contact.id}`,
      headers: { authorization: `Bearer ${ws.apiKey}`, 'content-type': 'application/json' },
      payload: 'null',
    });
    expectProblem(response, 400, '/body');
  });

  test('an unknown time zone is a 400 naming the field and changes nothing', async () => {
    const ws = await workspace();
    const contact = await ws.contact({ timeZone: 'Europe/Paris' });
    expectProblem(
      await ws.patch(`/contacts/${contact.id}`, { timeZone: 'Mars/Olympus', name: 'X' }),
      400,
      '/body/timeZone',
    );
    expect(await em().findOneOrFail(Contact, contact.id)).toMatchObject({
      timeZone: 'Europe/Paris',
      name: 'Ada Lovelace',
    });
  });
});

describe('E5 and S7: stopping a contact', () => {
  test('E5: stop cancels every live enrollment of the contact, answers them, and keeps the contact', async () => {
    const ws = await workspace();
    const a = await ws.sequence({ name: 'A', triggerTags: ['trial'], activeTag: 'in-a' });
    const b = await ws.sequence({ name: 'B', triggerTags: ['trial'] });
    const c = await ws.sequence({ name: 'C' });
    const contact = await ws.contact({ attributes: { plan: 'pro' } });
    const other = await ws.contact();
    await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });
    const ended = await ws.client.post(`/sequences/${c.id}/enrollments`, { contactId: contact.id });
    await ws.client.post(`/enrollments/${ended.json().id}/cancel`);
    await ws.client.post(`/contacts/${other.id}/tags`, { tags: ['trial'] });
    await welcomed(contact.email, 2);

    const response = await ws.client.post(`/contacts/${contact.id}/stop`, { reason: 'asked_us_to_stop' });

    expect(response.statusCode).toBe(200);
    const stopped = response.json().ended;
    expect(stopped.map((e: any) => [e.sequenceId, e.status, e.endReason]).sort()).toEqual(
      [
        [a.id, 'cancelled', 'asked_us_to_stop'],
        [b.id, 'cancelled', 'asked_us_to_stop'],
      ].sort(),
    );
    const rows = await enrollmentsOf(contact.id);
    expect(rows.filter((e) => e.status === 'active' || e.status === 'paused')).toEqual([]);
    expect((await enrollmentsOf(other.id)).map((e) => e.status)).toEqual(['active', 'active']);
    const kept = (await ws.client.get(`/contacts/${contact.id}`)).json();
    expect(kept).toMatchObject({ attributes: { plan: 'pro' }, tags: ['trial'], suppression: null });

    // Their workflows end there: no step after the welcome is ever sent.
    for (const enrollment of stopped) {
      const result = await handleOf(enrollment.workflowId).result();
      expect(result).toMatchObject({ status: 'cancelled', doneStepIds: ['welcome'] });
    }
    expect(sendsTo(contact.email).map((s) => s.email.subject)).toEqual(['Welcome, Ada', 'Welcome, Ada']);
  });

  test('E5: stop without a body uses reason `stopped`; a contact with nothing live answers an empty list', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence();
    const contact = await ws.contact();
    await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });

    const first = await ws.client.post(`/contacts/${contact.id}/stop`);
    expect(first.json().ended).toMatchObject([{ sequenceId: sequence.id, endReason: 'stopped' }]);
    const again = await ws.client.post(`/contacts/${contact.id}/stop`);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ended: [] });
  });

  test('S7: removing a contact from a sequence cancels that enrollment only (reason removed); again is a 404', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ activeTag: 'in-onboarding' });
    const other = await ws.sequence();
    const contact = await ws.contact({ tags: ['lead'] });
    const enrolled = await ws.client.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    const kept = await ws.client.post(`/sequences/${other.id}/enrollments`, { contactId: contact.id });
    await welcomed(contact.email, 2);

    const response = await ws.client.delete(`/sequences/${sequence.id}/contacts/${contact.id}`);

    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: enrolled.json().id,
      status: 'cancelled',
      endReason: 'removed',
    });
    const result = await handleOf(enrolled.json().workflowId).result();
    expect(result).toMatchObject({ status: 'cancelled', reason: 'removed', doneStepIds: ['welcome'] });
    expect((await em().findOneOrFail(Enrollment, kept.json().id)).status).toBe('active');
    expect((await ws.client.get(`/contacts/${contact.id}`)).json().tags).toEqual(['lead']);

    const again = expectProblem(
      await ws.client.delete(`/sequences/${sequence.id}/contacts/${contact.id}`),
      404,
    );
    expect(again).toMatchObject({ sequenceId: sequence.id, contactId: contact.id });
    expectProblem(await ws.client.delete(`/sequences/${sequence.id}/contacts/${randomUUID()}`), 404);
  });
});

describe('E10: no duplicate enrollments', () => {
  test('E10: two added tags that both trigger one sequence enroll the contact once', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['trial', 'demo'] });
    const contact = await ws.contact();

    const response = await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial', 'demo'] });

    expect(response.json().triggered).toMatchObject([{ sequenceId: sequence.id, result: 'enrolled' }]);
    expect(await enrollmentsOf(contact.id)).toHaveLength(1);
  });

  test('E10: concurrent tag applications triggering one sequence never create two live enrollments', async () => {
    const ws = await workspace();
    const sequence = await ws.sequence({ triggerTags: ['a', 'b', 'c', 'd'], activeTag: 'in-seq' });
    const other = await ws.sequence({ triggerTags: ['a', 'b', 'c', 'd'], activeTag: 'in-other' });
    const contact = await ws.contact();

    // Different tags at once (each applied, each triggering both), and the same tag twice.
    const responses = await Promise.all(
      ['a', 'b', 'c', 'd', 'a', 'b'].map((tag) =>
        ws.client.post(`/contacts/${contact.id}/tags`, { tags: [tag] }),
      ),
    );

    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const s of [sequence, other]) {
      const rows = await enrollmentsOf(contact.id, s.id);
      expect(rows.map((e) => e.status)).toEqual(['active']);
      const outcomes = responses.flatMap((r) => r.json().triggered).filter((t: any) => t.sequenceId === s.id);
      // Each of a, b, c, d was applied exactly once, and exactly one application enrolled.
      expect(outcomes).toHaveLength(4);
      expect(outcomes.filter((t: any) => t.result === 'enrolled')).toHaveLength(1);
      expect(new Set(outcomes.map((t: any) => t.enrollmentId))).toEqual(new Set([rows[0]!.id]));
    }
    // No tag lost to a concurrent write, active tags included.
    expect([...(await em().findOneOrFail(Contact, contact.id)).tags].sort()).toEqual(
      ['a', 'b', 'c', 'd', 'in-other', 'in-seq'].sort(),
    );
    await welcomed(contact.email, 2);
    expect(sendsTo(contact.email)).toHaveLength(2);
  });

  test('E10: a retried POST with the same Idempotency-Key answers the first result and acts once', async () => {
    const ws = await workspace();
    await ws.sequence({ triggerTags: ['trial'] });
    const contact = await ws.contact();
    const key = randomUUID();

    const first = await ws.client.post(
      `/contacts/${contact.id}/tags`,
      { tags: ['trial'] },
      { 'idempotency-key': key },
    );
    const retry = await ws.client.post(
      `/contacts/${contact.id}/tags`,
      { tags: ['trial'] },
      { 'idempotency-key': key },
    );

    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    expect(first.json().triggered).toMatchObject([{ result: 'enrolled' }]);
    expect(await enrollmentsOf(contact.id)).toHaveLength(1);
  });
});

describe('a trigger that cannot be carried out', () => {
  test('E6: with Temporal unreachable the answer is a 503 and the tags come off, so a retry applies them and enrolls', async () => {
    const unreachable = await buildApp({
      orm: api.world.db.orm,
      temporal: { client: unreachableTemporal(), taskQueue: api.world.taskQueue },
      logger: silentLogger,
    });
    try {
      const ws = await workspace(unreachable);
      const sequence = await ws.sequence({ triggerTags: ['trial'] });
      const contact = await ws.contact({ tags: ['lead'] });

      expectProblem(await ws.client.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] }), 503);
      expect((await em().findOneOrFail(Contact, contact.id)).tags).toEqual(['lead']);
      const email = `${randomUUID()}@example.com`;
      expectProblem(await ws.client.post('/contacts', { email, tags: ['trial'] }), 503);
      expect(await em().count(Contact, { email })).toBe(0); // so the retry can create it

      const retry = apiClient(api.app, ws.apiKey);
      const tagged = await retry.post(`/contacts/${contact.id}/tags`, { tags: ['trial'] });
      expect(tagged.json().triggered).toMatchObject([{ sequenceId: sequence.id, result: 'enrolled' }]);
      const created = await retry.post('/contacts', { email, tags: ['trial'] });
      expect(created.statusCode).toBe(201);
      expect(created.json().triggered).toMatchObject([{ sequenceId: sequence.id, result: 'enrolled' }]);
    } finally {
      await unreachable.close();
    }
  });
});

/** A Temporal client whose every call fails as an unreachable server does (gRPC UNAVAILABLE). */
function unreachableTemporal(): Client {
  const unavailable = async () => {
    throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
  };
  return {
    workflow: { start: unavailable, getHandle: () => ({ signal: unavailable }) },
  } as unknown as Client;
}

function createDraft(ctx: ServiceContext, input: { triggerTags: string[] }) {
  return createSequence(
    { ...ctx, em: ctx.em.fork() },
    { name: 'Draft', steps: [{ name: 'Hi', delay: 'PT0S', subject: 'Hi', html: '<p>Hi</p>' }], ...input },
  );
}
