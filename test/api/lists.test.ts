/**
 * Lists (issue 5): cursor pagination, newest first, and the filters API consumers need —
 * enrollments by sequence, status and contact; contacts by tag, suppression and active
 * sequence; deliveries by enrollment and status. Real PostgreSQL, time-skipping Temporal.
 */
import { randomUUID } from 'node:crypto';
import { Contact } from '../../db/entities/index.js';
import { useApiWorld } from '../support/use-world.js';
import { apiClient, expectProblem } from '../support/http.js';
import { eventually } from '../support/wait.js';

const api = useApiWorld();

/** Follows `nextCursor` to the end, returning every page. */
async function allPages(client: ReturnType<typeof apiClient>, url: string) {
  const pages: any[][] = [];
  let cursor: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const response = await client.get(
      cursor ? `${url}${separator}cursor=${encodeURIComponent(cursor)}` : url,
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    pages.push(body.data);
    cursor = body.nextCursor;
  } while (cursor && pages.length < 50);
  return pages;
}

test('contacts page newest first with a cursor: every contact once, no page over the limit', async () => {
  const { apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  const created: string[] = [];
  for (let i = 0; i < 7; i++) {
    created.push((await client.post('/contacts', { email: `p${i}-${randomUUID()}@example.com` })).json().id);
  }
  const pages = await allPages(client, '/contacts?limit=3');
  expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
  expect(pages.flat().map((c) => c.id)).toEqual([...created].reverse());
});

test('a page stays stable when rows are added while a client pages through', async () => {
  const { apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  for (let i = 0; i < 4; i++) await client.post('/contacts', { email: `s${i}-${randomUUID()}@example.com` });
  const first = (await client.get('/contacts?limit=2')).json();
  await client.post('/contacts', { email: `late-${randomUUID()}@example.com` });
  const second = (await client.get(`/contacts?limit=2&cursor=${first.nextCursor}`)).json();
  const seen = [...first.data, ...second.data].map((c: any) => c.email);
  expect(new Set(seen).size).toBe(4);
  expect(seen.some((e: string) => e.startsWith('late-'))).toBe(false);
});

test('contacts filter by tag, by suppression and by active sequence', async () => {
  const { ctx, apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  const lead = await api.world.contact({ tags: ['lead', 'vip'] }, ctx);
  const customer = await api.world.contact({ tags: ['customer'] }, ctx);
  const bounced = await api.world.contact({ tags: ['lead'] }, ctx);
  await api.world.db.orm.em
    .fork()
    .nativeUpdate(Contact, { id: bounced.id }, { suppression: 'bounced', suppressedAt: new Date() });
  const sequence = await api.world.publishedSequence({}, ctx);
  expect(
    (await client.post(`/sequences/${sequence.id}/enrollments`, { contactId: customer.id })).statusCode,
  ).toBe(201);

  const ids = async (url: string) =>
    (await client.get(url))
      .json()
      .data.map((c: any) => c.id)
      .sort();
  expect(await ids('/contacts?tag=lead')).toEqual([lead.id, bounced.id].sort());
  expect(await ids('/contacts?tag=vip')).toEqual([lead.id]);
  expect(await ids('/contacts?suppression=bounced')).toEqual([bounced.id]);
  expect(await ids('/contacts?suppression=any')).toEqual([bounced.id]);
  expect(await ids('/contacts?suppression=none')).toEqual([lead.id, customer.id].sort());
  expect(await ids('/contacts?tag=lead&suppression=none')).toEqual([lead.id]);
  expect(await ids(`/contacts?activeInSequence=${sequence.id}`)).toEqual([customer.id]);
  expect(await ids(`/contacts?email=${encodeURIComponent(lead.email.toUpperCase())}`)).toEqual([lead.id]);

  // E4: a cancelled enrollment no longer counts as active in the sequence.
  const enrollment = (await client.get(`/enrollments?contactId=${customer.id}`)).json().data[0];
  await client.post(`/enrollments/${enrollment.id}/cancel`, {});
  expect(await ids(`/contacts?activeInSequence=${sequence.id}`)).toEqual([]);
});

test('enrollments filter by sequence, status and contact; deliveries by enrollment and status', async () => {
  const { ctx, apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  const onboarding = await api.world.publishedSequence({ name: 'Onboarding' }, ctx);
  const winback = await api.world.publishedSequence({ name: 'Win-back' }, ctx);
  const [ada, grace] = [await api.world.contact({}, ctx), await api.world.contact({}, ctx)];
  const enroll = async (sequenceId: string, contactId: string) =>
    (await client.post(`/sequences/${sequenceId}/enrollments`, { contactId })).json();
  const adaOnboarding = await enroll(onboarding.id, ada.id);
  const graceOnboarding = await enroll(onboarding.id, grace.id);
  const adaWinback = await enroll(winback.id, ada.id);
  await client.post(`/enrollments/${graceOnboarding.id}/pause`);

  const ids = async (url: string) =>
    (await client.get(url))
      .json()
      .data.map((e: any) => e.id)
      .sort();
  expect(await ids(`/enrollments?sequenceId=${onboarding.id}`)).toEqual(
    [adaOnboarding.id, graceOnboarding.id].sort(),
  );
  expect(await ids(`/enrollments?contactId=${ada.id}`)).toEqual([adaOnboarding.id, adaWinback.id].sort());
  expect(await ids(`/enrollments?sequenceId=${onboarding.id}&status=paused`)).toEqual([graceOnboarding.id]);
  expect(await ids(`/enrollments?status=active&status=paused`)).toEqual(
    [adaOnboarding.id, graceOnboarding.id, adaWinback.id].sort(),
  );
  expect(await ids(`/enrollments?status=completed`)).toEqual([]);

  // The welcome step goes at once (E1): each active enrollment gets one `sent` delivery.
  const sent = await eventually(
    async () => {
      const data = (await client.get(`/deliveries?enrollmentId=${adaOnboarding.id}&status=sent`)).json().data;
      return data.length === 1 ? data : null;
    },
    { what: 'the welcome delivery' },
  );
  expect(sent[0]).toMatchObject({
    enrollmentId: adaOnboarding.id,
    sequenceId: onboarding.id,
    contactId: ada.id,
    stepId: 'welcome',
    status: 'sent',
  });
  expect(
    (await client.get(`/deliveries?enrollmentId=${adaOnboarding.id}&status=bounced`)).json().data,
  ).toEqual([]);
  const all = (await client.get(`/deliveries?contactId=${ada.id}`)).json().data;
  expect(all.every((d: any) => d.contactId === ada.id)).toBe(true);
});

test('lists never show another workspace’s rows, whatever the filter', async () => {
  const a = await api.world.workspace();
  const b = await api.world.workspace();
  const bContact = await api.world.contact({ tags: ['shared-tag'] }, b.ctx);
  const bSequence = await api.world.publishedSequence({}, b.ctx);
  await apiClient(api.app, b.apiKey).post(`/sequences/${bSequence.id}/enrollments`, {
    contactId: bContact.id,
  });
  const client = apiClient(api.app, a.apiKey);
  for (const url of [
    '/contacts?tag=shared-tag',
    `/contacts?activeInSequence=${bSequence.id}`,
    `/enrollments?sequenceId=${bSequence.id}`,
    `/enrollments?contactId=${bContact.id}`,
    `/deliveries?contactId=${bContact.id}`,
    '/sequences',
  ]) {
    const response = await client.get(url);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ data: [], nextCursor: null });
  }
});

test('sequences list with live steps, filtered by status', async () => {
  const { ctx, apiKey } = await api.world.workspace();
  const client = apiClient(api.app, apiKey);
  const live = await api.world.publishedSequence({ name: 'Live' }, ctx);
  const draft = (await client.post('/sequences', { name: 'Draft', steps: [] })).json();
  const all = (await client.get('/sequences')).json().data;
  expect(all.map((s: any) => s.name)).toEqual(['Draft', 'Live']);
  expect(all.find((s: any) => s.id === live.id).liveSteps).toHaveLength(3);
  expect((await client.get('/sequences?status=draft')).json().data.map((s: any) => s.id)).toEqual([draft.id]);
  expectProblem(await client.get('/sequences?status=deleted'), 400);
});
