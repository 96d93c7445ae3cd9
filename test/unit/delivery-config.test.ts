/** Configuration of delivery: the send rate (D5), unsubscribe and webhook secrets (D6, D7). */
import { ConfigError, DEVELOPMENT_UNSUBSCRIBE_SECRET, loadConfig } from '../../config/config.js';

const base = { DATABASE_URL: 'postgres://nudge:nudge@127.0.0.1:5432/nudge' };
const SECRET = 'a-production-unsubscribe-secret-of-48-characters!';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test('D5: sends default to Resend’s 2 per second; 0 lifts the limit', () => {
  expect(loadConfig(base).sends).toEqual({ ratePerSecond: 2, concurrency: 10 });
  expect(loadConfig({ ...base, SEND_RATE_PER_SECOND: '0' }).sends.ratePerSecond).toBeNull();
  expect(problems({ SEND_RATE_PER_SECOND: '-1' })[0]).toMatch(/^SEND_RATE_PER_SECOND: /);
});

test('D7: outside production the development secret signs links; in production with a Resend key one must be set', () => {
  expect(loadConfig(base).delivery.unsubscribeSecret).toBe(DEVELOPMENT_UNSUBSCRIBE_SECRET);
  expect(loadConfig({ ...base, NODE_ENV: 'production' }).delivery.unsubscribeSecret).toBe(
    DEVELOPMENT_UNSUBSCRIBE_SECRET,
  ); // the outbox: nothing leaves the machine
  expect(problems({ NODE_ENV: 'production', RESEND_API_KEY: 're_live' })).toEqual([
    expect.stringMatching(
      /^UNSUBSCRIBE_SECRET: is required when NODE_ENV=production and RESEND_API_KEY is set/,
    ),
  ]);
  const production = loadConfig({
    ...base,
    NODE_ENV: 'production',
    RESEND_API_KEY: 're_live',
    UNSUBSCRIBE_SECRET: SECRET,
  });
  expect(production.delivery.unsubscribeSecret).toBe(SECRET);
  expect(problems({ UNSUBSCRIBE_SECRET: 'short' })[0]).toMatch(
    /^UNSUBSCRIBE_SECRET: must be at least 32 characters/,
  );
});

test('D6: the webhook secret must be Resend’s whsec_ secret; PUBLIC_URL loses a trailing slash', () => {
  expect(loadConfig(base).delivery.webhookSecret).toBeNull();
  expect(
    loadConfig({ ...base, RESEND_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }).delivery
      .webhookSecret,
  ).toBe('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  expect(problems({ RESEND_WEBHOOK_SECRET: 'hunter2' })[0]).toMatch(
    /^RESEND_WEBHOOK_SECRET: must be the `whsec_…`/,
  );
  expect(loadConfig({ ...base, PUBLIC_URL: 'https://mail.acme.test/' }).delivery.publicUrl).toBe(
    'https://mail.acme.test',
  );
});
