// What the fake Resend API says and accepts: error bodies, status codes and request validation,
// mirrored from https://resend.com/docs/api-reference/errors and the send-email reference.
// Pure functions only; the HTTP server lives in resend-fake.ts.

/** An error body exactly as Resend sends it; the SDK hands it back unchanged as `error`. */
export interface ResendErrorBody {
  statusCode: number;
  name: string;
  message: string;
}

export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function apiError(statusCode: number, name: string, message: string): ApiResult {
  return { status: statusCode, body: { statusCode, name, message } satisfies ResendErrorBody };
}

export const errors = {
  missingApiKey: () =>
    apiError(
      401,
      'missing_api_key',
      'Missing API key in the authorization header. Include the following header `Authorization: Bearer YOUR_API_KEY` in the request.',
    ),
  invalidApiKey: () => apiError(403, 'invalid_api_key', 'API key is invalid'),
  notFound: (message = 'The requested endpoint does not exist.') => apiError(404, 'not_found', message),
  methodNotAllowed: () =>
    apiError(405, 'method_not_allowed', 'Method is not allowed for the requested path.'),
  invalidIdempotencyKey: () =>
    apiError(400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.'),
  invalidIdempotentRequest: () =>
    apiError(
      409,
      'invalid_idempotent_request',
      'Same idempotency key used with a different request payload.',
    ),
  concurrentIdempotentRequests: () =>
    apiError(
      409,
      'concurrent_idempotent_requests',
      'Same idempotency key used while original request is still in progress.',
    ),
  rateLimitExceeded: (perSecond: number) =>
    apiError(
      429,
      'rate_limit_exceeded',
      `Too many requests. You can only make ${perSecond} requests per second. See rate limit response headers for more information. Or contact support to increase rate limit.`,
    ),
  internalServerError: () => apiError(500, 'internal_server_error', 'An unexpected error occurred.'),
  invalidJson: () => apiError(400, 'validation_error', 'Invalid JSON body.'),
  missingField: (field: string) => apiError(422, 'missing_required_field', `Missing \`${field}\` field.`),
  invalidAddress: (field: string) =>
    apiError(
      422,
      'validation_error',
      `Invalid \`${field}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`,
    ),
  validation: (message: string) => apiError(422, 'validation_error', message),
  invalidParameter: (message: string) => apiError(422, 'invalid_parameter', message),
};

/** The error `name` Resend uses for a status, for faults that give only a status. */
export function defaultErrorName(status: number): string {
  switch (status) {
    case 400:
    case 422:
      return 'validation_error';
    case 401:
      return 'missing_api_key';
    case 403:
      return 'invalid_api_key';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'concurrent_idempotent_requests';
    case 429:
      return 'rate_limit_exceeded';
    default:
      return status >= 500 ? 'internal_server_error' : 'application_error';
  }
}

export function defaultErrorMessage(status: number): string {
  if (status === 429) return 'Too many requests. Please limit the number of requests per second.';
  if (status >= 500) return 'An unexpected error occurred.';
  return 'The request failed.';
}

/** Idempotency keys: "The key must be between 1-256 chars." */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** send-email reference: `to` "Max 50." */
export const MAX_RECIPIENTS = 50;
/** batch reference: "up to 100 emails in a single API call". */
export const MAX_BATCH_SIZE = 100;

const ANGLE_ADDRESS = /<([^<>\s]+)>\s*$/;
const BARE_ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;

/** `"Ada <ada@example.com>"` and `"ada@example.com"` both give `ada@example.com` (lower-cased). */
export function bareAddress(value: string): string {
  const match = ANGLE_ADDRESS.exec(value);
  return (match ? match[1]! : value).trim().toLowerCase();
}

export function isValidAddress(value: string): boolean {
  const match = ANGLE_ADDRESS.exec(value);
  return BARE_ADDRESS.test(match ? match[1]! : value.trim());
}

/** A send request after validation, normalised (recipient fields always arrays). */
export interface ValidEmail {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string[];
  subject: string;
  html?: string;
  text?: string;
  headers: Record<string, string>;
  tags?: { name: string; value: string }[];
  scheduledAt?: string;
}

export type Validation = { ok: true; email: ValidEmail } | { ok: false; error: ApiResult };

const TAG_PART = /^[A-Za-z0-9_-]{1,256}$/;

function addressList(
  body: Record<string, unknown>,
  field: string,
  required: boolean,
): string[] | ApiResult | undefined {
  const value = body[field];
  if (value === undefined || value === null) return required ? errors.missingField(field) : undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
    return errors.validation(`The \`${field}\` field must be a \`string\` or an array of strings.`);
  }
  if (required && list.length === 0) return errors.missingField(field);
  if (list.length > MAX_RECIPIENTS) {
    return errors.validation(
      `Too many recipients in the \`${field}\` field. The maximum is ${MAX_RECIPIENTS}.`,
    );
  }
  if (!(list as string[]).every(isValidAddress)) return errors.invalidAddress(field);
  return list as string[];
}

/** Validates one POST /emails body (or one batch item) the way Resend does. */
export function validateEmail(input: unknown): Validation {
  const fail = (error: ApiResult): Validation => ({ ok: false, error });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail(errors.validation('The request body must be a JSON object.'));
  }
  const body = input as Record<string, unknown>;

  if (typeof body.from !== 'string' || body.from.trim() === '') return fail(errors.missingField('from'));
  if (!isValidAddress(body.from)) return fail(errors.invalidAddress('from'));

  const to = addressList(body, 'to', true);
  if (!Array.isArray(to)) return fail(to!);
  const optional: Record<'cc' | 'bcc' | 'reply_to', string[] | undefined> = {
    cc: undefined,
    bcc: undefined,
    reply_to: undefined,
  };
  for (const field of ['cc', 'bcc', 'reply_to'] as const) {
    const list = addressList(body, field, false);
    if (list !== undefined && !Array.isArray(list)) return fail(list);
    optional[field] = list;
  }

  if (typeof body.subject !== 'string' || body.subject === '') return fail(errors.missingField('subject'));

  const hasTemplate = typeof body.template === 'object' && body.template !== null;
  if (typeof body.html !== 'string' && typeof body.text !== 'string' && !hasTemplate) {
    return fail(errors.missingField('html` or `text'));
  }

  let headers: Record<string, string> = {};
  if (body.headers !== undefined && body.headers !== null) {
    if (
      typeof body.headers !== 'object' ||
      Array.isArray(body.headers) ||
      Object.values(body.headers).some((value) => typeof value !== 'string')
    ) {
      return fail(errors.validation('The `headers` field must be an object of string values.'));
    }
    headers = body.headers as Record<string, string>;
  }

  let tags: { name: string; value: string }[] | undefined;
  if (body.tags !== undefined && body.tags !== null) {
    if (
      !Array.isArray(body.tags) ||
      !body.tags.every(
        (tag: unknown) =>
          typeof tag === 'object' &&
          tag !== null &&
          typeof (tag as { name?: unknown }).name === 'string' &&
          typeof (tag as { value?: unknown }).value === 'string' &&
          TAG_PART.test((tag as { name: string }).name) &&
          TAG_PART.test((tag as { value: string }).value),
      )
    ) {
      return fail(
        errors.validation(
          'Tags should only contain ASCII letters, numbers, underscores, or dashes, and be at most 256 characters.',
        ),
      );
    }
    tags = body.tags as { name: string; value: string }[];
  }

  return {
    ok: true,
    email: {
      from: body.from,
      to,
      ...(optional.cc && { cc: optional.cc }),
      ...(optional.bcc && { bcc: optional.bcc }),
      ...(optional.reply_to && { replyTo: optional.reply_to }),
      subject: body.subject,
      ...(typeof body.html === 'string' && { html: body.html }),
      ...(typeof body.text === 'string' && { text: body.text }),
      headers,
      ...(tags && { tags }),
      ...(typeof body.scheduled_at === 'string' && { scheduledAt: body.scheduled_at }),
    },
  };
}

/** JSON with object keys sorted, so "same body" does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/** Deterministic PRNG (mulberry32) so a seeded crash drill fails the same requests every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
