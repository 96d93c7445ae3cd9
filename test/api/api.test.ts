/**
 * The HTTP API through `app.inject`, against a real PostgreSQL and the time-skipping
 * Temporal server: schemas, problem responses, and the enrollment routes.
 */
import type { LightMyRequestResponse } from 'fastify';
import { Contact, Enrollment, Sequence } from '../../db/entities/index.js';
import { useApiWorld } from '../support/use-world.js';
import { RecordingSender } from '../support/recording-sender.js';
import { eventually } from '../support/wait.js';
import { threeSteps } from '../support/world.js';

const sender = new RecordingSender();
const api = useApiWorld({ sender });

const auth = () => ({ authorization: `Bearer ${api.world.apiKey}` });
const post = (url: string, payload?: object): Promise<LightMyRequestResponse> =>
  api.app.inject({ method: 'POST', url, headers: auth(), ...(payload === undefined ? {} : { payload }) });
const get = (url: string): Promise<LightMyRequestResponse> =>
  api.app.inject({ method: 'GET', url, headers: auth() });

function expectProblem(response: LightMyRequestResponse, status: number, field?: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json();
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^urn:nudge:problem:/);
  if (field) expect(body.field).toBe(field);
  return body;
}

async function createPublishedSequence(overrides: Record<string, unknown> = {}) {
  const created = await post('/sequences', { name: 'Onboarding', steps: threeSteps(), ...overrides });
  expect(created.statusCode).toBe(201);
  const published = await post(`/sequences/${created.json().id}/publish`);
  expect(published.statusCode).toBe(200);
  return published.json();
}

async function createContact(email = `${Math.random().toString(36).slice(2)}@example.com`) {
  const response = await post('/contacts', { email, name: 'Grace Hopper', timeZone: 'Europe/Paris' });
  expect(response.statusCode).toBe(201);
  return response.json();
}

describe('contacts', () => {
  test('a contact is created and read back, its email normalised', async () => {
    const created = await post('/contacts', {
      email: 'Ada@Example.COM',
      name: 'Ada',
      attributes: { plan: 'pro' },
      tags: ['lead'],
    });
    expect(created.statusCode).toBe(201);
    const read = await get(`/contacts/${created.json().id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      email: 'ada@example.com',
      name: 'Ada',
      attributes: { plan: 'pro' },
      tags: ['lead'],
      suppression: null,
    });
  });

  test('a second contact with the same email is a 409 naming the field, and nothing is written', async () => {
    await createContact('twice@example.com');
    const again = await post('/contacts', { email: 'TWICE@example.com' });
    expectProblem(again, 409, '/body/email');
    const rows = await api.world.db.orm.em.fork().find(Contact, { email: 'twice@example.com' });
    expect(rows).toHaveLength(1);
  });

  test.each([
    [{ name: 'no email' }, '/body/email'],
    [{ email: 'not-an-email' }, '/body/email'],
    [{ email: 'a@example.com', timeZone: 'Mars/Olympus' }, '/body/timeZone'],
    [{ email: 'a@example.com', tags: 'lead' }, '/body/tags'],
    [{ email: 'a@example.com', favouriteColour: 'blue' }, '/body/favouriteColour'],
  ])('bad input %j is a 400 problem naming %s and writes nothing', async (payload, field) => {
    const before = await api.world.db.orm.em.fork().count(Contact, {});
    expectProblem(await post('/contacts', payload), 400, field);
    expect(await api.world.db.orm.em.fork().count(Contact, {})).toBe(before);
  });

  test('unknown and malformed ids are 404 and 400 problems', async () => {
    expectProblem(await get('/contacts/00000000-0000-4000-8000-000000000000'), 404);
    expectProblem(await get('/contacts/nope'), 400, '/params/contactId');
  });

  test('requests without a valid API key are 401', async () => {
    const missing = await api.app.inject({
      method: 'GET',
      url: '/contacts/00000000-0000-4000-8000-000000000000',
    });
    expectProblem(missing, 401);
    const wrong = await api.app.inject({
      method: 'POST',
      url: '/contacts',
      headers: { authorization: 'Bearer nudge_wrong' },
      payload: { email: 'x@example.com' },
    });
    expectProblem(wrong, 401);
  });

  test('malformed JSON is a 400 problem', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/contacts',
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expectProblem(response, 400);
  });
});

describe('sequences', () => {
  test('S1: a new sequence is a draft and accepts no enrollments', async () => {
    const created = await post('/sequences', { name: 'Draft', steps: threeSteps() });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'draft', liveVersion: null, liveSteps: null });
    expect(created.json().draftSteps.map((s: { id: string }) => s.id)).toEqual([
      'welcome',
      'follow-up',
      'last',
    ]);
    const contact = await createContact();
    const enroll = await post(`/sequences/${created.json().id}/enrollments`, { contactId: contact.id });
    expectProblem(enroll, 409);
    expect(await api.world.db.orm.em.fork().count(Enrollment, { sequence: created.json().id })).toBe(0);
  });

  test('S2: publishing makes the draft a live version', async () => {
    const sequence = await createPublishedSequence();
    expect(sequence).toMatchObject({ status: 'active', liveVersion: 1 });
    expect(sequence.liveSteps).toHaveLength(3);
  });

  test('S2: publishing refuses a sequence without steps, or a template that does not parse, naming the step', async () => {
    const empty = await post('/sequences', { name: 'Empty', steps: [] });
    expectProblem(await post(`/sequences/${empty.json().id}/publish`), 422, '/draftSteps');

    const broken = await post('/sequences', {
      name: 'Broken',
      steps: [
        { id: 'oops', name: 'Oops', delay: 'P1D', subject: 'Hi {{ contact.first_name', html: '<p>x</p>' },
      ],
    });
    const problem = expectProblem(
      await post(`/sequences/${broken.json().id}/publish`),
      422,
      '/draftSteps/0/subject',
    );
    expect(problem.stepId).toBe('oops');
    expect(problem.detail).toContain("Step 1 'Oops'");
    const row = await api.world.db.orm.em.fork().findOneOrFail(Sequence, broken.json().id);
    expect(row).toMatchObject({ status: 'draft', liveVersion: null });
  });

  test.each([
    [
      { name: 'x', steps: [{ name: 's', delay: 'two days', subject: 's', html: 'h' }] },
      '/body/steps/0/delay',
    ],
    [{ name: 'x', steps: [{ name: 's', delay: 'P1D', html: 'h' }] }, '/body/steps/0/subject'],
    [{ name: '', steps: [] }, '/body/name'],
    [
      { name: 'x', steps: [], sendWindow: { days: [8], start: '09:00', end: '17:00' } },
      '/body/sendWindow/days/0',
    ],
    [{ name: 'x', steps: [], timeZone: 'Nowhere/City' }, '/body/timeZone'],
    [
      {
        name: 'x',
        steps: [
          { id: 'a', name: 's', delay: 'P1D', subject: 's', html: 'h' },
          { id: 'a', name: 't', delay: 'P1D', subject: 's', html: 'h' },
        ],
      },
      '/body/steps/1/id',
    ],
  ])('bad sequence %j is a 400 problem naming %s', async (payload, field) => {
    const before = await api.world.db.orm.em.fork().count(Sequence, {});
    expectProblem(await post('/sequences', payload), 400, field);
    expect(await api.world.db.orm.em.fork().count(Sequence, {})).toBe(before);
  });
});

describe('enrollments', () => {
  test('E1/E2: enrolling starts at step 1; enrolling again returns the same enrollment', async () => {
    const sequence = await createPublishedSequence();
    const contact = await createContact();
    const first = await post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      status: 'active',
      generation: 1,
      sequenceId: sequence.id,
      contactId: contact.id,
    });
    expect(first.json().workflowId).toBe(`enrollment:${sequence.id}:${contact.id}`);

    const second = await post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(first.json().id);

    const withDeliveries = await eventually(
      async () => {
        const read = (await get(`/enrollments/${first.json().id}`)).json();
        // The delivery row is written by the send; the next step is mirrored just after it.
        return read.deliveries.length === 1 && read.currentStepId === 'follow-up' ? read : null;
      },
      { what: 'the first delivery, then the wait for step 2' },
    );
    expect(withDeliveries.deliveries[0]).toMatchObject({
      stepId: 'welcome',
      status: 'sent',
      to: contact.email,
      subject: 'Welcome, Grace',
    });
    expect(withDeliveries.currentStepId).toBe('follow-up');
  });

  test('E10: concurrent enrollments of one contact create one enrollment', async () => {
    const sequence = await createPublishedSequence();
    const contact = await createContact();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id }),
      ),
    );
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(
      await api.world.db.orm.em.fork().count(Enrollment, { sequence: sequence.id, contact: contact.id }),
    ).toBe(1);
  });

  test('E8/E4: pause, resume and cancel through the API', async () => {
    const sequence = await createPublishedSequence();
    const contact = await createContact();
    const { id } = (await post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id })).json();

    const paused = await post(`/enrollments/${id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused' });
    expect(paused.json().pausedAt).not.toBeNull();
    expect((await post(`/enrollments/${id}/resume`)).json()).toMatchObject({
      status: 'active',
      pausedAt: null,
    });
    const cancelled = await post(`/enrollments/${id}/cancel`, { reason: 'replied' });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', endReason: 'replied' });
    expectProblem(await post(`/enrollments/${id}/pause`), 409);
    expectProblem(await post(`/enrollments/${id}/cancel`, { reason: 7 }), 400, '/body/reason');
  });

  test('E12: a suppressed contact is refused and recorded as ineligible', async () => {
    const sequence = await createPublishedSequence();
    const contact = await createContact();
    await api.world.db.orm.em
      .fork()
      .nativeUpdate(Contact, { id: contact.id }, { suppression: 'unsubscribed' });
    const refused = await post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    const problem = expectProblem(refused, 422, '/body/contactId');
    expect(problem.reason).toBe('contact_unsubscribed');
    const row = await api.world.db.orm.em.fork().findOneOrFail(Enrollment, problem.enrollmentId);
    expect(row.status).toBe('ineligible');
  });

  test('ids from another workspace are indistinguishable from ids that do not exist', async () => {
    const sequence = await createPublishedSequence();
    const contact = await createContact();
    const { id } = (await post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id })).json();
    const other = await api.world.workspace();
    const asOther = (
      method: 'GET' | 'POST',
      url: string,
      payload?: object,
    ): Promise<LightMyRequestResponse> =>
      api.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${other.apiKey}` },
        ...(payload ? { payload } : {}),
      });
    expectProblem(await asOther('GET', `/enrollments/${id}`), 404);
    expectProblem(await asOther('GET', `/contacts/${contact.id}`), 404);
    expectProblem(await asOther('GET', `/sequences/${sequence.id}`), 404);
    expectProblem(await asOther('POST', `/enrollments/${id}/pause`), 404);
  });
});
