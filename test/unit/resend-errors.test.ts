/** D4: how each answer of Resend's API is classified (https://resend.com/docs/api-reference/errors). */
import { classifyResendError } from '../../email/resend-sender.js';

const error = (statusCode: number | null, name: string, message = 'message') => ({
  statusCode,
  name,
  message,
});

test.each([
  ['no answer (network, timeout)', error(null, 'application_error'), 'transient', 'unknown'],
  ['500 internal_server_error', error(500, 'internal_server_error'), 'transient', 'unknown'],
  ['502 from a proxy', error(502, 'application_error'), 'transient', 'unknown'],
  [
    '409 concurrent_idempotent_requests',
    error(409, 'concurrent_idempotent_requests'),
    'transient',
    'unknown',
  ],
  ['429 rate_limit_exceeded', error(429, 'rate_limit_exceeded'), 'transient', false],
  ['429 daily_quota_exceeded', error(429, 'daily_quota_exceeded'), 'transient', false],
  ['401 missing_api_key', error(401, 'missing_api_key'), 'transient', false],
  ['403 invalid_api_key', error(403, 'invalid_api_key'), 'transient', false],
  [
    '403 unverified domain',
    error(403, 'validation_error', 'The acme.test domain is not verified.'),
    'transient',
    false,
  ],
  ['404 not_found (wrong base URL)', error(404, 'not_found'), 'transient', false],
  ['422 invalid_from_address', error(422, 'invalid_from_address'), 'transient', false],
  [
    '422 invalid `from`',
    error(422, 'validation_error', 'Invalid `from` field. The email address needs…'),
    'transient',
    false,
  ],
])('D4: %s is retried', (_, given, kind, accepted) => {
  expect(classifyResendError(given, null)).toMatchObject({ ok: false, kind, accepted });
});

test.each([
  [
    '422 invalid `to`',
    error(422, 'validation_error', 'Invalid `to` field. The email address needs…'),
    'invalid_recipient',
  ],
  ['400 invalid `to`', error(400, 'validation_error', 'Invalid `to` field.'), 'invalid_recipient'],
  [
    '422 missing subject',
    error(422, 'missing_required_field', 'Missing `subject` field.'),
    'rejected_content',
  ],
  ['422 invalid_attachment', error(422, 'invalid_attachment'), 'rejected_content'],
  ['451 security_error', error(451, 'security_error'), 'rejected_content'],
])('D4: %s fails the delivery for good', (_, given, failure) => {
  const outcome = classifyResendError(given, null);
  expect(outcome).toMatchObject({ ok: false, kind: 'permanent', failure });
  expect((outcome as { reason: string }).reason).toContain(given.message);
});

test('D4: a 429 waits for retry-after; without one, the workflow’s backoff applies', () => {
  expect(classifyResendError(error(429, 'rate_limit_exceeded'), { 'retry-after': '3' })).toMatchObject({
    retryAfterMs: 3000,
  });
  expect(classifyResendError(error(429, 'rate_limit_exceeded'), {})).not.toHaveProperty('retryAfterMs');
  expect(
    classifyResendError(error(429, 'rate_limit_exceeded'), { 'retry-after': 'soon' }),
  ).not.toHaveProperty('retryAfterMs');
});

test('D1: a 409 invalid_idempotent_request means the provider already has this delivery', () => {
  expect(classifyResendError(error(409, 'invalid_idempotent_request'), null)).toMatchObject({
    kind: 'already_accepted',
  });
});
