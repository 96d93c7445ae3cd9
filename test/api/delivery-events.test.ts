/**
 * What happens after a send: Resend's signed webhooks (D6), the unsubscribe link (D7), the
 * suppression they cause (E12) and the numbers (issue 4 §8). Real enrollments run on the
 * time-skipping server; webhooks are signed the way Resend signs them (Standard Webhooks).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApp } from '../../api/app.js';
import { Contact, Delivery, Enrollment, EventLog } from '../../db/entities/index.js';
import type { enrollmentWorkflow } from '../../workflows/enrollment.js';
import {
  buildResendEmailEvent,
  newWebhookSecret,
  signResendWebhook,
  type ResendEmailEventType,
} from '../fakes/resend-fake.js';
import { apiClient, expectProblem, type App } from '../support/http.js';
import { RecordingSender } from '../support/recording-sender.js';
import { startTimeSkippingServer } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { silentLogger, startWorld, type World } from '../support/world.js';

const WEBHOOK_SECRET = newWebhookSecret();
const UNSUBSCRIBE_SECRET = 'delivery-events-secret-0123456789abcdef';
const PUBLIC_URL = 'https://nudge.example.com';

let env: TestWorkflowEnvironment;
let world: World;
let app: App;
let api: ReturnType<typeof apiClient>;
const sender = new RecordingSender();

beforeAll(async () => {
  env = await startTimeSkippingServer();
  world = await startWorld(env, sender, {
    delivery: { publicUrl: PUBLIC_URL, unsubscribeSecret: UNSUBSCRIBE_SECRET },
  });
  app = await buildApp({
    orm: world.db.orm,
    temporal: { client: env.client, taskQueue: world.taskQueue },
    logger: silentLogger,
    delivery: { publicUrl: PUBLIC_URL, unsubscribeSecret: UNSUBSCRIBE_SECRET, webhookSecret: WEBHOOK_SECRET },
  });
  api = apiClient(app, world.apiKey);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await world?.close();
  await env?.teardown();
});

/** A contact enrolled in a new sequence, its welcome email sent, waiting for step 2. */
async function sentWelcome(contact?: { id: string; email: string }) {
  const who = contact ?? (await world.contact());
  const sequence = await world.publishedSequence({ activeTag: 'in-onboarding' });
  const enrolled = await api.post(`/sequences/${sequence.id}/enrollments`, { contactId: who.id });
  expect(enrolled.statusCode).toBe(201);
  const enrollmentId = enrolled.json().id as string;
  const delivery = await eventually(
    async () =>
      world.db.orm.em
        .fork()
        .findOne(Delivery, { enrollment: enrollmentId, stepId: 'welcome', status: 'sent' }),
    { what: 'the welcome email' },
  );
  const handle = env.client.workflow.getHandle<typeof enrollmentWorkflow>(enrolled.json().workflowId);
  return { contact: who, sequence, enrollmentId, delivery, handle };
}

function webhook(
  type: ResendEmailEventType,
  delivery: Delivery,
  options: { id?: string; timestamp?: Date; secret?: string; bounceType?: string; tagged?: boolean } = {},
) {
  const event = buildResendEmailEvent(
    type,
    {
      id: delivery.providerMessageId ?? '00000000-0000-4000-8000-000000000000',
      from: 'Nudge Tests <tests@nudge.test>',
      to: [delivery.toEmail],
      subject: delivery.subject ?? '',
      receivedAt: Date.now(),
      ...(options.tagged === false ? {} : { tags: [{ name: 'nudge_delivery', value: delivery.id }] }),
    },
    options.bounceType ? { bounce: { type: options.bounceType } } : {},
  );
  return signResendWebhook(options.secret ?? WEBHOOK_SECRET, event, {
    ...(options.id ? { id: options.id } : {}),
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
}

function post(signed: { body: string; headers: Record<string, string> }, headers = signed.headers) {
  return app.inject({ method: 'POST', url: '/webhooks/resend', headers, payload: signed.body });
}

const reload = <T extends object>(entity: any, id: string): Promise<T> =>
  world.db.orm.em.fork().findOneOrFail(entity, { id } as any) as Promise<T>;

describe('D6: webhooks', () => {
  test('D6: delivered, opened and clicked update the delivery; each event id counts once', async () => {
    const { delivery } = await sentWelcome();
    for (const type of ['email.delivered', 'email.opened', 'email.clicked'] as const) {
      const response = await post(webhook(type, delivery));
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ received: true, outcome: 'processed' });
    }
    const row = await reload<Delivery>(Delivery, delivery.id);
    expect(row.status).toBe('delivered');
    expect(row.deliveredAt).toBeInstanceOf(Date);
    expect(row.openedAt).toBeInstanceOf(Date);
    expect(row.clickedAt).toBeInstanceOf(Date);

    const replayed = webhook('email.opened', delivery, { id: 'msg_replayed' });
    expect((await post(replayed)).json().outcome).toBe('processed');
    expect((await post(replayed)).json().outcome).toBe('duplicate');
    const opens = await world.db.orm.em
      .fork()
      .count(EventLog, { type: 'delivery.opened', data: { eventId: 'msg_replayed' } });
    expect(opens).toBe(1);
  });

  test('D6: svix-* and webhook-* header names are both accepted', async () => {
    const { delivery } = await sentWelcome();
    const without = (headers: Record<string, string>, prefix: string) =>
      Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(prefix)));
    const svix = webhook('email.delivered', delivery);
    expect((await post(svix, without(svix.headers, 'webhook-'))).statusCode).toBe(200);
    const standard = webhook('email.opened', delivery);
    expect((await post(standard, without(standard.headers, 'svix-'))).statusCode).toBe(200);
  });

  test('D6: forged, altered, stale and unsigned requests are refused with 401 and change nothing', async () => {
    const { delivery, contact } = await sentWelcome();
    const genuine = webhook('email.bounced', delivery);
    const attempts = {
      'signed with another secret': post(webhook('email.bounced', delivery, { secret: newWebhookSecret() })),
      'body altered after signing': post({
        ...genuine,
        body: genuine.body.replace('"Permanent"', '"permanent"'),
      }),
      'signature of another message id': post(genuine, {
        ...genuine.headers,
        'svix-id': 'msg_other',
        'webhook-id': 'msg_other',
      }),
      'ten minutes old': post(
        webhook('email.bounced', delivery, { timestamp: new Date(Date.now() - 10 * 60_000) }),
      ),
      'from the future': post(
        webhook('email.bounced', delivery, { timestamp: new Date(Date.now() + 10 * 60_000) }),
      ),
      'without signature headers': post(genuine, { 'content-type': 'application/json' }),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      const response = await attempt;
      expect({ name, status: response.statusCode }).toEqual({ name, status: 401 });
      expectProblem(response, 401);
    }
    expect((await reload<Delivery>(Delivery, delivery.id)).status).toBe('sent');
    expect((await reload<Contact>(Contact, contact.id)).suppression).toBeNull();
  });

  test('E12: a hard bounce marks the delivery bounced, suppresses the contact and ends all its enrollments', async () => {
    const first = await sentWelcome();
    const second = await sentWelcome(first.contact); // the same contact in another sequence

    const response = await post(webhook('email.bounced', first.delivery, { bounceType: 'Permanent' }));
    expect(response.json().outcome).toBe('processed');
    const row = await reload<Delivery>(Delivery, first.delivery.id);
    expect(row).toMatchObject({ status: 'bounced' });
    expect(row.error).toMatch(/hard bounce/);
    const contact = await reload<Contact>(Contact, first.contact.id);
    expect(contact.suppression).toBe('bounced');
    expect(contact.tags).not.toContain('in-onboarding');
    for (const { enrollmentId, handle } of [first, second]) {
      expect(await reload<Enrollment>(Enrollment, enrollmentId)).toMatchObject({
        status: 'cancelled',
        endReason: 'contact_bounced',
      });
      expect(await handle.result()).toMatchObject({ status: 'cancelled', reason: 'contact_bounced' });
    }
    // E12: enrolling a suppressed contact is refused.
    const again = await api.post(`/sequences/${first.sequence.id}/enrollments`, {
      contactId: first.contact.id,
    });
    expectProblem(again, 422);
  });

  test('E12: a complaint suppresses as complained; a transient bounce is recorded but suppresses no one', async () => {
    const complained = await sentWelcome();
    await post(webhook('email.complained', complained.delivery));
    expect((await reload<Delivery>(Delivery, complained.delivery.id)).status).toBe('complained');
    expect((await reload<Contact>(Contact, complained.contact.id)).suppression).toBe('complained');
    expect(await complained.handle.result()).toMatchObject({ reason: 'contact_complained' });

    const soft = await sentWelcome();
    await post(webhook('email.bounced', soft.delivery, { bounceType: 'Transient' }));
    expect((await reload<Delivery>(Delivery, soft.delivery.id)).status).toBe('bounced');
    expect((await reload<Contact>(Contact, soft.contact.id)).suppression).toBeNull();
    expect((await reload<Enrollment>(Enrollment, soft.enrollmentId)).status).toBe('active');
  });

  test('D6: events never move a delivery back, and find it by its tag when the provider id is unknown', async () => {
    const { delivery } = await sentWelcome();
    await post(webhook('email.bounced', delivery, { bounceType: 'Transient' }));
    await post(webhook('email.delivered', delivery)); // late
    expect((await reload<Delivery>(Delivery, delivery.id)).status).toBe('bounced');

    const untracked = await sentWelcome();
    await world.db.orm.em
      .fork()
      .nativeUpdate(Delivery, { id: untracked.delivery.id }, { providerMessageId: null });
    await post(webhook('email.delivered', untracked.delivery));
    expect((await reload<Delivery>(Delivery, untracked.delivery.id)).status).toBe('delivered');
  });

  test('D6: an event about an email Nudge did not send is acknowledged and ignored', async () => {
    const { delivery } = await sentWelcome();
    const stranger = {
      ...delivery,
      id: '11111111-1111-4111-8111-111111111111',
      providerMessageId: 'not-ours',
    } as Delivery;
    const response = await post(webhook('email.delivered', stranger));
    expect(response.statusCode).toBe(200);
    expect(response.json().outcome).toBe('ignored');
  });

  test('D6: without RESEND_WEBHOOK_SECRET the route answers 503', async () => {
    const unconfigured = await buildApp({
      orm: world.db.orm,
      temporal: { client: env.client, taskQueue: world.taskQueue },
      logger: silentLogger,
    });
    const { delivery } = await sentWelcome();
    const signed = webhook('email.delivered', delivery);
    const response = await unconfigured.inject({
      method: 'POST',
      url: '/webhooks/resend',
      headers: signed.headers,
      payload: signed.body,
    });
    expectProblem(response, 503);
    await unconfigured.close();
  });
});

describe('D7: unsubscribe', () => {
  /** The link the email carried, from the List-Unsubscribe header the provider received. */
  function linkOf(to: string) {
    const email = sender.sends.find((send) => send.email.to === to)!.email;
    expect(email.headers!['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const url = /^<(.+)>$/.exec(email.headers!['List-Unsubscribe']!)![1]!;
    expect(email.html).toContain(url);
    return url.replace(PUBLIC_URL, '');
  }

  test('D7: GET shows a confirmation page and changes nothing', async () => {
    const { contact, enrollmentId } = await sentWelcome();
    const page = await app.inject({ method: 'GET', url: linkOf(contact.email) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain(contact.email);
    expect(page.body).toContain('<form method="post">');
    expect((await reload<Contact>(Contact, contact.id)).suppression).toBeNull();
    expect((await reload<Enrollment>(Enrollment, enrollmentId)).status).toBe('active');
  });

  test('D7/E12: the one-click POST (RFC 8058) unsubscribes the contact, ends its enrollments and credits the email', async () => {
    const { contact, enrollmentId, delivery, handle, sequence } = await sentWelcome();
    const response = await app.inject({
      method: 'POST',
      url: linkOf(contact.email),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('You are unsubscribed');
    expect((await reload<Contact>(Contact, contact.id)).suppression).toBe('unsubscribed');
    expect((await reload<Delivery>(Delivery, delivery.id)).unsubscribedAt).toBeInstanceOf(Date);
    expect(await reload<Enrollment>(Enrollment, enrollmentId)).toMatchObject({
      status: 'cancelled',
      endReason: 'contact_unsubscribed',
    });
    expect(await handle.result()).toMatchObject({ status: 'cancelled', doneStepIds: ['welcome'] });
    await env.sleep('30 days');
    expect(sender.sends.filter((send) => send.email.to === contact.email)).toHaveLength(1);

    // Using the link again (or the page's button) changes nothing and still says so.
    const again = await app.inject({ method: 'POST', url: linkOf(contact.email) });
    expect(again.statusCode).toBe(200);
    const stats = (await api.get(`/sequences/${sequence.id}/stats`)).json();
    expect(stats.totals.unsubscribed).toBe(1);
  });

  test('D7: tokens cannot be forged or used for another contact', async () => {
    const ada = await sentWelcome();
    const grace = await sentWelcome();
    const adaLink = linkOf(ada.contact.email);
    const [, , token] = adaLink.split('/');
    const [contactId, deliveryId, signature] = token!.split('.');
    const flipped = `${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'B' : 'A'}`;
    const compact = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
    expect(contactId).toBe(compact(ada.contact.id));
    const forged = [
      `/unsubscribe/${compact(grace.contact.id)}.${deliveryId}.${signature}`, // Ada's signature, Grace's id
      `/unsubscribe/${contactId}.${compact(grace.delivery.id)}.${signature}`, // another email
      `/unsubscribe/${contactId}.-.${signature}`,
      `/unsubscribe/${contactId}.${deliveryId}.${flipped}`,
      `/unsubscribe/${contactId}.${deliveryId}`,
      '/unsubscribe/nonsense',
    ];
    for (const url of forged) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await app.inject({ method, url });
        expect({ url, method, status: response.statusCode }).toEqual({ url, method, status: 400 });
      }
    }
    for (const { contact } of [ada, grace]) {
      expect((await reload<Contact>(Contact, contact.id)).suppression).toBeNull();
    }
  });
});

test('numbers per sequence and per step count what the ledger and the events say', async () => {
  const contacts = await Promise.all([0, 1, 2].map(() => world.contact()));
  const sequence = await world.publishedSequence();
  const deliveries: Delivery[] = [];
  for (const contact of contacts) {
    const enrolled = await api.post(`/sequences/${sequence.id}/enrollments`, { contactId: contact.id });
    deliveries.push(
      await eventually(
        async () =>
          world.db.orm.em.fork().findOne(Delivery, { enrollment: enrolled.json().id, status: 'sent' }),
        { what: 'the welcome email' },
      ),
    );
  }
  const [a, b, c] = deliveries as [Delivery, Delivery, Delivery];
  for (const type of ['email.delivered', 'email.opened', 'email.clicked'] as const)
    await post(webhook(type, a));
  await post(webhook('email.delivered', b));
  await post(webhook('email.complained', b));
  await post(webhook('email.bounced', c));

  const response = await api.get(`/sequences/${sequence.id}/stats`);
  expect(response.statusCode).toBe(200);
  const stats = response.json();
  const welcome = {
    sent: 3,
    delivered: 2,
    bounced: 1,
    complained: 1,
    opened: 1,
    clicked: 1,
    unsubscribed: 0,
    failed: 0,
  };
  expect(stats.totals).toEqual(welcome);
  expect(stats.steps[0]).toEqual({ stepId: 'welcome', name: 'Welcome', live: true, ...welcome });
  expect(stats.steps.slice(1).map((s: any) => [s.stepId, s.sent])).toEqual([
    ['follow-up', 0],
    ['last', 0],
  ]);
  expectProblem(
    await apiClient(app, (await world.workspace()).apiKey).get(`/sequences/${sequence.id}/stats`),
    404,
  );
});
