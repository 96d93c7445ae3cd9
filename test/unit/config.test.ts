/** Configuration of the observability and deployment settings: validated once, named when wrong. */
import { ConfigError, loadConfig } from '../../config/config.js';

const base = { DATABASE_URL: 'postgres://nudge:nudge@127.0.0.1:5432/nudge' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test('an empty variable counts as unset, as Compose passes `${RESEND_API_KEY:-}`', () => {
  const config = loadConfig({ ...base, RESEND_API_KEY: '', METRICS_TOKEN: '', TEMPORAL_UI_URL: '' });
  expect(config.email.resendApiKey).toBeNull();
  expect(config.metrics.token).toBeNull();
  expect(config.temporalUiUrl).toBeNull();
});

test('metrics defaults: the worker serves /metrics on 127.0.0.1:9464, the SDK exporter on any free port, no token', () => {
  expect(loadConfig(base).metrics).toEqual({
    host: '127.0.0.1',
    port: 9464,
    temporalSdkPort: null,
    token: null,
  });
});

test('a bad metrics or Temporal setting stops start-up with a message naming the variable', () => {
  expect(problems({ METRICS_TOKEN: 'short' })[0]).toMatch(/^METRICS_TOKEN: /);
  expect(problems({ METRICS_PORT: '70000' })[0]).toMatch(/^METRICS_PORT: /);
  expect(problems({ METRICS_PORT: '9500', TEMPORAL_SDK_METRICS_PORT: '9500' })[0]).toMatch(
    /^TEMPORAL_SDK_METRICS_PORT: must differ from METRICS_PORT/,
  );
  expect(problems({ TEMPORAL_UI_URL: 'javascript:alert(1)' })[0]).toMatch(/^TEMPORAL_UI_URL: /);
  expect(problems({ TEMPORAL_TLS_CERT_PATH: '/certs/client.pem' })[0]).toMatch(
    /^TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH: give both/,
  );
  expect(problems({ TEMPORAL_TLS: 'maybe' })[0]).toMatch(/^TEMPORAL_TLS: /);
});

test('Temporal security: plain by default, TLS with an API key (Temporal Cloud) or on request, mTLS with a certificate', () => {
  expect(loadConfig(base).temporal).toMatchObject({ apiKey: null, tls: null });
  expect(loadConfig({ ...base, TEMPORAL_API_KEY: 'cloud-key' }).temporal).toMatchObject({
    apiKey: 'cloud-key',
    tls: {},
  });
  expect(loadConfig({ ...base, TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
  expect(
    loadConfig({ ...base, TEMPORAL_TLS_CERT_PATH: '/c.pem', TEMPORAL_TLS_KEY_PATH: '/k.pem' }).temporal.tls,
  ).toEqual({ certPath: '/c.pem', keyPath: '/k.pem' });
  expect(loadConfig({ ...base, TEMPORAL_UI_URL: 'http://ui.example:8080/' }).temporalUiUrl).toBe(
    'http://ui.example:8080',
  );
});

test('worker roles: all three by default, any subset by name, and a typo or repeat stops start-up', () => {
  expect(loadConfig(base).worker.roles).toEqual(['enrollments', 'sends', 'fanout']);
  expect(loadConfig({ ...base, WORKER_ROLES: 'fanout' }).worker.roles).toEqual(['fanout']);
  expect(loadConfig({ ...base, WORKER_ROLES: ' enrollments , sends' }).worker.roles).toEqual([
    'enrollments',
    'sends',
  ]);
  expect(problems({ WORKER_ROLES: 'enrollments,fan-out' })[0]).toMatch(
    /^WORKER_ROLES: "fan-out": each role must be one of enrollments, sends, fanout/,
  );
  expect(problems({ WORKER_ROLES: 'sends,sends' })[0]).toMatch(/^WORKER_ROLES: names a role twice/);
  expect(problems({ WORKER_ROLES: ',' })[0]).toMatch(/^WORKER_ROLES/);
});

test('D5: send concurrency: 10 without a rate or at Resend’s 2/s, twice a higher rate up to 100, or as set', () => {
  const concurrency = (env: Record<string, string>) => loadConfig({ ...base, ...env }).sends.concurrency;
  expect(concurrency({ SEND_RATE_PER_SECOND: '0' })).toBe(10);
  expect(concurrency({})).toBe(10); // the default rate, 2/s
  expect(concurrency({ SEND_RATE_PER_SECOND: '20' })).toBe(40);
  expect(concurrency({ SEND_RATE_PER_SECOND: '12.5' })).toBe(25);
  expect(concurrency({ SEND_RATE_PER_SECOND: '1000' })).toBe(100);
  expect(concurrency({ SEND_RATE_PER_SECOND: '20', SEND_CONCURRENCY: '5' })).toBe(5);
  expect(problems({ SEND_CONCURRENCY: '0' })[0]).toMatch(/^SEND_CONCURRENCY/);
});
