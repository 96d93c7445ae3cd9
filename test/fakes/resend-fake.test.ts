// The fake is driven through the real `resend` SDK so that what Nudge's delivery code sees (data, error,
// statusCode, headers) is what these tests pin down. Raw fetch only where the SDK cannot express a request.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CreateEmailOptions, Resend } from 'resend';
import {
  type FakeResend,
  type Fault,
  newWebhookSecret,
  signResendWebhook,
  spawnFakeResend,
  startFakeResend,
} from './resend-fake.js';

const API_KEY = 're_test_key';
const FROM = 'Nudge <nudge@example.com>';

function message(to: string | string[] = 'ada@example.com', subject = 'Welcome'): CreateEmailOptions {
  return { from: FROM, to, subject, html: '<p>Hello</p>' };
}

describe('resend fake, driven by the resend SDK', () => {
  let fake: FakeResend;
  let resend: Resend;

  beforeAll(async () => {
    fake = await startFakeResend({ apiKey: API_KEY });
    resend = new Resend(API_KEY, { baseUrl: fake.url });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  describe('sending', () => {
    it('records a send with its recipient, subject, headers, tags and Idempotency-Key', async () => {
      const { data, error } = await resend.emails.send(
        {
          ...message('Ada Lovelace <ada@example.com>'),
          headers: { 'List-Unsubscribe': '<https://nudge.test/u/1>' },
          tags: [{ name: 'step', value: 'step_1' }],
        },
        { idempotencyKey: 'delivery/enr-1/1/step-1/first' },
      );

      expect(error).toBeNull();
      expect(fake.deliveries()).toEqual([
        expect.objectContaining({
          id: data!.id,
          from: FROM,
          to: ['Ada Lovelace <ada@example.com>'],
          subject: 'Welcome',
          html: '<p>Hello</p>',
          headers: { 'List-Unsubscribe': '<https://nudge.test/u/1>' },
          tags: [{ name: 'step', value: 'step_1' }],
          idempotencyKey: 'delivery/enr-1/1/step-1/first',
        }),
      ]);
      expect(fake.deliveriesTo('ADA@example.com').map((email) => email.id)).toEqual([data!.id]);
      expect(fake.deliveriesTo('grace@example.com')).toEqual([]);
    });

    it('serves a sent email back on GET /emails/:id with last_event, and 404s an unknown one', async () => {
      const sent = await resend.emails.send(message());
      const got = await resend.emails.get(sent.data!.id);
      const missing = await resend.emails.get('00000000-0000-4000-8000-000000000000');

      expect(got.data).toMatchObject({
        object: 'email',
        id: sent.data!.id,
        to: ['ada@example.com'],
        subject: 'Welcome',
        last_event: 'sent',
      });
      expect(missing.error).toMatchObject({ statusCode: 404, name: 'not_found' });
    });

    it('sends a batch, and replays it whole for the same Idempotency-Key', async () => {
      const batch = [message('ada@example.com'), message('grace@example.com')];
      const first = await resend.batch.send(batch, { idempotencyKey: 'batch-1' });
      const replay = await resend.batch.send(batch, { idempotencyKey: 'batch-1' });

      expect(first.data!.data).toHaveLength(2);
      expect(replay.data!.data).toEqual(first.data!.data);
      expect(fake.deliveries().map((email) => email.to[0])).toEqual(['ada@example.com', 'grace@example.com']);
    });

    it('delivers the valid part of a permissive batch and lists the rejected indexes', async () => {
      const result = await resend.batch.send([message('ada@example.com'), message('not-an-address')], {
        batchValidation: 'permissive',
      });

      expect(result.data!.data).toHaveLength(1);
      expect(result.data!.errors).toEqual([
        { index: 1, message: expect.stringContaining('Invalid `to` field') },
      ]);
      expect(fake.deliveries()).toHaveLength(1);
    });
  });

  describe('authentication and validation (as Resend answers them)', () => {
    it('answers a wrong API key with 403 invalid_api_key and a missing one with 401 missing_api_key', async () => {
      const wrong = await new Resend('re_wrong', { baseUrl: fake.url }).emails.send(message());
      // The SDK refuses to run without a key, so the missing header needs a raw request.
      const missing = await fetch(`${fake.url}/emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message()),
      });

      expect(wrong.error).toMatchObject({ statusCode: 403, name: 'invalid_api_key' });
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({ statusCode: 401, name: 'missing_api_key' });
      expect(fake.deliveries()).toEqual([]);
    });

    it.each<[string, number, string, unknown]>([
      ['a missing subject', 422, 'missing_required_field', { ...message(), subject: undefined }],
      ['a malformed address', 422, 'validation_error', message('not-an-address')],
      ['51 recipients', 422, 'validation_error', message(Array.from({ length: 51 }, (_, i) => `r${i}@x.io`))],
      [
        'no html or text',
        422,
        'missing_required_field',
        { from: FROM, to: 'ada@example.com', subject: 'Hi' },
      ],
    ])('rejects %s with %i %s and delivers nothing', async (_case, statusCode, name, payload) => {
      const { error } = await resend.emails.send(payload as CreateEmailOptions);

      expect(error).toMatchObject({ statusCode, name });
      expect(fake.deliveries()).toEqual([]);
    });

    it('accepts 50 recipients, the documented maximum', async () => {
      const { error } = await resend.emails.send(message(Array.from({ length: 50 }, (_, i) => `r${i}@x.io`)));

      expect(error).toBeNull();
      expect(fake.deliveries()[0]!.to).toHaveLength(50);
    });
  });

  describe('idempotency keys', () => {
    it('D1: a replay with the same key and body returns the same id and is not delivered again', async () => {
      const first = await resend.emails.send(message(), { idempotencyKey: 'k-replay' });
      const second = await resend.emails.send(message(), { idempotencyKey: 'k-replay' });

      expect(second.data!.id).toBe(first.data!.id);
      expect(fake.deliveries()).toHaveLength(1);
      expect(fake.countByIdempotencyKey()).toEqual({ 'k-replay': { requests: 2, deliveries: 1 } });
      expect(fake.requests().map((request) => request.replayed ?? false)).toEqual([false, true]);
      expect(fake.stats()).toMatchObject({ deliveries: 1, replays: 1 });
    });

    it('answers the same key with a different body with 409 invalid_idempotent_request', async () => {
      await resend.emails.send(message('ada@example.com', 'Welcome'), { idempotencyKey: 'k-conflict' });
      const { data, error } = await resend.emails.send(message('ada@example.com', 'Edited'), {
        idempotencyKey: 'k-conflict',
      });

      expect(data).toBeNull();
      expect(error).toMatchObject({ statusCode: 409, name: 'invalid_idempotent_request' });
      expect(fake.deliveries().map((email) => email.subject)).toEqual(['Welcome']);
    });

    it('answers a request whose key is still in flight with 409 concurrent_idempotent_requests', async () => {
      fake.pauseDeliveries();
      const first = resend.emails.send(message(), { idempotencyKey: 'k-concurrent' });
      await fake.waitForPending(1);

      const second = await resend.emails.send(message(), { idempotencyKey: 'k-concurrent' });
      expect(second.error).toMatchObject({ statusCode: 409, name: 'concurrent_idempotent_requests' });
      expect(fake.deliveries()).toEqual([]);

      fake.resumeDeliveries();
      expect((await first).data!.id).toBe(fake.deliveries()[0]!.id);
      expect(fake.deliveries()).toHaveLength(1);
    });

    it('rejects a key longer than 256 characters with 400 invalid_idempotency_key, and accepts 256', async () => {
      const tooLong = await resend.emails.send(message(), { idempotencyKey: 'k'.repeat(257) });
      const longest = await resend.emails.send(message(), { idempotencyKey: 'k'.repeat(256) });

      expect(tooLong.error).toMatchObject({ statusCode: 400, name: 'invalid_idempotency_key' });
      expect(longest.error).toBeNull();
      expect(fake.deliveries()).toHaveLength(1);
    });

    it('remembers a key for 24 hours of fake time, then delivers again', async () => {
      let clock = Date.UTC(2026, 10, 24, 9);
      const timed = await startFakeResend({ now: () => clock });
      try {
        const sdk = new Resend(API_KEY, { baseUrl: timed.url });
        const first = await sdk.emails.send(message(), { idempotencyKey: 'k-ttl' });
        clock += 24 * 60 * 60 * 1000 - 1;
        const withinDay = await sdk.emails.send(message(), { idempotencyKey: 'k-ttl' });
        clock += 1;
        const afterDay = await sdk.emails.send(message(), { idempotencyKey: 'k-ttl' });

        expect(withinDay.data!.id).toBe(first.data!.id);
        expect(afterDay.data!.id).not.toBe(first.data!.id);
        expect(timed.deliveries()).toHaveLength(2);
      } finally {
        await timed.close();
      }
    });
  });

  describe('injected faults', () => {
    it.each<[string, Fault, { statusCode: number | null; name: string }, number | string]>([
      ['a 500', { status: 500 }, { statusCode: 500, name: 'internal_server_error' }, 500],
      [
        'a 503 with an HTML body',
        { status: 503, rawBody: '<html>busy</html>' },
        { statusCode: 503, name: 'application_error' },
        503,
      ],
      [
        'a dropped connection',
        { dropConnection: true },
        { statusCode: null, name: 'application_error' },
        'dropped',
      ],
      ['a hang then a reset', { timeoutMs: 20 }, { statusCode: null, name: 'application_error' }, 'timeout'],
    ])(
      'D4: %s surfaces in the SDK as expected, delivers nothing, and leaves the key usable',
      async (_case, fault, expected, recorded) => {
        fake.failNext(fault);
        const failed = await resend.emails.send(message(), { idempotencyKey: 'k-fault' });

        expect(failed.data).toBeNull();
        expect(failed.error).toMatchObject(expected);
        expect(fake.deliveries()).toEqual([]);
        expect(fake.requests()[0]).toMatchObject({ status: recorded, fault: 'before-delivery' });

        const retried = await resend.emails.send(message(), { idempotencyKey: 'k-fault' });
        expect(retried.error).toBeNull();
        expect(fake.deliveries().map((email) => email.id)).toEqual([retried.data!.id]);
      },
    );

    it('D4: a 429 carries retry-after and the ratelimit-* headers to the SDK', async () => {
      fake.failNext({ status: 429, retryAfterSeconds: 7 });
      const { error, headers } = await resend.emails.send(message());

      expect(error).toMatchObject({ statusCode: 429, name: 'rate_limit_exceeded' });
      expect(headers).toMatchObject({
        'retry-after': '7',
        'ratelimit-remaining': '0',
        'ratelimit-reset': '7',
      });
      expect(fake.deliveries()).toEqual([]);
    });

    it('applies a queued fault to exactly the next N sends', async () => {
      fake.failNext({ status: 502 }, 2);
      const results = [];
      for (let i = 0; i < 3; i += 1) results.push(await resend.emails.send(message(`r${i}@example.com`)));

      expect(results.map((result) => result.error?.statusCode ?? 200)).toEqual([502, 502, 200]);
      expect(fake.deliveries().map((email) => email.to[0])).toEqual(['r2@example.com']);
    });

    it.each<[string, Fault, number | null]>([
      ['a 500', { status: 500, afterDelivery: true }, 500],
      ['a dropped connection', { dropConnection: true, afterDelivery: true }, null],
    ])(
      'D1: %s after delivery delivers once, and a retry with the same key gets the original id',
      async (_case, fault, statusCode) => {
        fake.failNext(fault);
        const lost = await resend.emails.send(message(), { idempotencyKey: 'k-crash' });
        expect(lost.error).toMatchObject({ statusCode });
        expect(fake.deliveries()).toHaveLength(1);

        const retried = await resend.emails.send(message(), { idempotencyKey: 'k-crash' });
        expect(retried.data!.id).toBe(fake.deliveries()[0]!.id);
        expect(fake.deliveries()).toHaveLength(1);
        expect(fake.countByIdempotencyKey()['k-crash']).toEqual({ requests: 2, deliveries: 1 });
        expect(fake.stats().duplicates.idempotencyKeys).toBe(0);
      },
    );

    it('without a key, a lost response followed by a retry is a visible duplicate', async () => {
      fake.failNext({ status: 500, afterDelivery: true });
      await resend.emails.send(message());
      await resend.emails.send(message());

      expect(fake.stats().duplicates).toEqual({
        idempotencyKeys: 0,
        recipientSubject: 1,
        examples: [{ recipient: 'ada@example.com', subject: 'Welcome', count: 2 }],
      });
    });

    it('D4: rejects matching recipients permanently, by pattern or exact address, and no one else', async () => {
      fake.rejectRecipients(/@bounce\.test$/);
      fake.rejectRecipients('blocked@example.com', { status: 403, message: 'The domain is not verified.' });

      const pattern = await resend.emails.send(message('Someone <someone@bounce.test>'));
      const exact = await resend.emails.send(message('BLOCKED@example.com'));
      const fine = await resend.emails.send(message('ada@example.com'));

      expect(pattern.error).toMatchObject({ statusCode: 422, name: 'validation_error' });
      expect(exact.error).toMatchObject({ statusCode: 403, message: 'The domain is not verified.' });
      expect(fine.error).toBeNull();
      expect(fake.deliveries().map((email) => email.to[0])).toEqual(['ada@example.com']);
    });

    it('fails the same requests for the same seed, and delivers exactly the ones that succeeded', async () => {
      const run = async () => {
        fake.reset();
        fake.failRandomly(0.5, [{ status: 500 }, { dropConnection: true }], 42);
        const outcomes: (number | null)[] = [];
        for (let i = 0; i < 20; i += 1) {
          const { error } = await resend.emails.send(message(`r${i}@example.com`));
          outcomes.push(error ? error.statusCode : 200);
        }
        return outcomes;
      };

      const first = await run();
      const delivered = fake.deliveries().length;
      const second = await run();

      expect(second).toEqual(first);
      expect(first).toEqual(expect.arrayContaining([200, 500, null]));
      expect(delivered).toBe(first.filter((status) => status === 200).length);
    });
  });

  it("D5: enforces the rate limit per fake-clock second with Resend's headers", async () => {
    let clock = 1_000_000;
    const limited = await startFakeResend({ rateLimitPerSecond: 2, now: () => clock });
    try {
      const sdk = new Resend(API_KEY, { baseUrl: limited.url });
      const within = [await sdk.emails.send(message('a@x.io')), await sdk.emails.send(message('b@x.io'))];
      const over = await sdk.emails.send(message('c@x.io'));
      clock += 1000;
      const nextSecond = await sdk.emails.send(message('c@x.io'));

      expect(within.map((result) => result.headers?.['ratelimit-remaining'])).toEqual(['1', '0']);
      expect(over.error).toMatchObject({ statusCode: 429, name: 'rate_limit_exceeded' });
      expect(over.headers).toMatchObject({ 'retry-after': '1', 'ratelimit-limit': '2' });
      expect(nextSecond.error).toBeNull();
      expect(limited.deliveries().map((email) => email.to[0])).toEqual(['a@x.io', 'b@x.io', 'c@x.io']);
    } finally {
      await limited.close();
    }
  });

  describe('webhooks', () => {
    const secret = newWebhookSecret();
    const payload = {
      type: 'email.delivered',
      created_at: '2026-11-24T09:00:00.000Z',
      data: { email_id: 'e1' },
    };

    it('D6: signs a payload so that the SDK verifies it', () => {
      const { body, headers } = signResendWebhook(secret, payload, { id: 'msg_1', timestamp: new Date() });

      const verified = resend.webhooks.verify({
        payload: body,
        headers: {
          id: headers['webhook-id']!,
          timestamp: headers['webhook-timestamp']!,
          signature: headers['webhook-signature']!,
        },
        webhookSecret: secret,
      });

      expect(verified).toEqual(payload);
      expect(headers['svix-signature']).toBe(headers['webhook-signature']);
    });

    it('D6: a tampered body, another secret or a stale timestamp does not verify', () => {
      const { body, headers } = signResendWebhook(secret, payload);
      const svixHeaders = (h: Record<string, string>) => ({
        id: h['svix-id']!,
        timestamp: h['svix-timestamp']!,
        signature: h['svix-signature']!,
      });
      const stale = signResendWebhook(secret, payload, { timestamp: Math.floor(Date.now() / 1000) - 600 });

      expect(() =>
        resend.webhooks.verify({
          payload: body.replace('e1', 'e2'),
          headers: svixHeaders(headers),
          webhookSecret: secret,
        }),
      ).toThrow();
      expect(() =>
        resend.webhooks.verify({
          payload: body,
          headers: svixHeaders(headers),
          webhookSecret: newWebhookSecret(),
        }),
      ).toThrow();
      expect(() =>
        resend.webhooks.verify({
          payload: stale.body,
          headers: svixHeaders(stale.headers),
          webhookSecret: secret,
        }),
      ).toThrow();
    });

    it('D6: emits a signed event shaped like Resend’s about a delivered email and updates last_event', async () => {
      const received: { headers: IncomingHttpHeaders; body: string }[] = [];
      const receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      try {
        const sent = await resend.emails.send({
          ...message(),
          tags: [{ name: 'sequence', value: 'onboarding' }],
        });
        const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/resend`;

        const result = await fake.emitWebhook(target, secret, 'email.bounced', sent.data!.id);

        expect(result.status).toBe(204);
        const [delivery] = received;
        const event = resend.webhooks.verify({
          payload: delivery!.body,
          headers: {
            id: String(delivery!.headers['svix-id']),
            timestamp: String(delivery!.headers['svix-timestamp']),
            signature: String(delivery!.headers['svix-signature']),
          },
          webhookSecret: secret,
        });
        expect(event).toMatchObject({
          type: 'email.bounced',
          data: {
            email_id: sent.data!.id,
            from: FROM,
            to: ['ada@example.com'],
            subject: 'Welcome',
            tags: { sequence: 'onboarding' },
            bounce: { type: 'Permanent' },
          },
        });
        expect((await resend.emails.get(sent.data!.id)).data!.last_event).toBe('bounced');
      } finally {
        await new Promise((resolve) => receiver.close(resolve));
      }
    });
  });
});

describe('resend fake as its own process', () => {
  it('serves the SDK and answers control calls through connectFakeResend', async () => {
    const remote = await spawnFakeResend({ apiKey: API_KEY });
    try {
      const sdk = new Resend(API_KEY, { baseUrl: remote.url });

      const sent = await sdk.emails.send(message(), { idempotencyKey: 'k-remote' });
      await sdk.emails.send(message(), { idempotencyKey: 'k-remote' });
      await remote.failNext({ status: 503 });
      const failed = await sdk.emails.send(message('grace@example.com'));
      await remote.rejectRecipients(/@bounce\.test$/);
      const rejected = await sdk.emails.send(message('x@bounce.test'));

      expect(failed.error).toMatchObject({ statusCode: 503 });
      expect(rejected.error).toMatchObject({ statusCode: 422, name: 'validation_error' });
      expect((await remote.deliveries()).map((email) => email.id)).toEqual([sent.data!.id]);
      expect(await remote.deliveriesTo('ada@example.com')).toHaveLength(1);
      expect(await remote.countByIdempotencyKey()).toEqual({ 'k-remote': { requests: 2, deliveries: 1 } });
      expect(await remote.stats()).toMatchObject({
        deliveries: 1,
        replays: 1,
        byStatus: { '200': 2, '503': 1, '422': 1 },
        duplicates: { idempotencyKeys: 0, recipientSubject: 0 },
      });
      expect((await remote.requests()).map((request) => request.status)).toEqual([200, 200, 503, 422]);

      await remote.pauseDeliveries();
      const held = sdk.emails.send(message('held@example.com'), { idempotencyKey: 'k-held' });
      await remote.waitForPending(1);
      expect(await remote.deliveriesTo('held@example.com')).toEqual([]);
      await remote.resumeDeliveries();
      expect((await held).error).toBeNull();

      await remote.reset();
      expect(await remote.deliveries()).toEqual([]);
    } finally {
      await remote.stop();
    }
    expect(remote.process.exitCode ?? remote.process.signalCode).not.toBeNull();
  }, 30_000);
});
