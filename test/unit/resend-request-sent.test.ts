/**
 * D5: the Resend sender says when its request is written to the network, before the answer,
 * so the pacer can stamp the departure then (email/request-sent.ts). Against the Resend fake,
 * made to answer 300 ms late.
 */
import { ResendSender } from '../../email/resend-sender.js';
import { startFakeResend, type FakeResend } from '../fakes/resend-fake.js';

let fake: FakeResend;
beforeAll(async () => {
  fake = await startFakeResend({ apiKey: 're_test', latencyMs: 300 });
});
afterAll(async () => fake?.close());

const email = (to: string) => ({
  from: 'Nudge <hello@nudge.test>',
  to,
  subject: 'Hi',
  html: '<p>Hi</p>',
});

test('D5: onRequestSent is called once the request is written, before the provider answers, for that call only', async () => {
  const sender = new ResendSender('re_test', fake.url);
  const events: string[] = [];
  const [first, second] = await Promise.all([
    sender
      .send(email('ada@example.com'), 'key-first', { onRequestSent: () => events.push('first written') })
      .then((outcome) => (events.push('first answered'), outcome)),
    sender
      .send(email('bob@example.com'), 'key-second', { onRequestSent: () => events.push('second written') })
      .then((outcome) => (events.push('second answered'), outcome)),
  ]);
  expect(first.ok && second.ok).toBe(true);
  expect(events.filter((e) => e.startsWith('first'))).toEqual(['first written', 'first answered']);
  expect(events.filter((e) => e.startsWith('second'))).toEqual(['second written', 'second answered']);
  // Both were written before either answer came back (the fake answers 300 ms late).
  expect(events.slice(0, 2).sort()).toEqual(['first written', 'second written']);
});

test('D5: a send without onRequestSent works as before, and a request that is never written says nothing', async () => {
  const sender = new ResendSender('re_test', fake.url);
  expect((await sender.send(email('cy@example.com'), 'key-plain')).ok).toBe(true);
  let written = false;
  const unreachable = new ResendSender('re_test', 'http://127.0.0.1:1');
  const outcome = await unreachable.send(email('dee@example.com'), 'key-unreachable', {
    onRequestSent: () => (written = true),
  });
  expect(outcome).toMatchObject({ ok: false, kind: 'transient' });
  expect(written).toBe(false);
});
