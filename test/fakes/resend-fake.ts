// A local fake of Resend's HTTP API for tests, benchmarks and crash drills. Point the real `resend` SDK at
// `fake.url` (`new Resend(key, { baseUrl: fake.url })`) and the SDK's own request, error and idempotency
// paths run. Status codes, error names and headers follow Resend's docs (see resend-fake-protocol.ts).
//
// Standalone: `npx tsx test/fakes/resend-fake.ts --port 4010 [--rate-limit 20] [--latency 0]` prints
// `{"url":"http://127.0.0.1:4010"}` once listening; drive it with `connectFakeResend(url)`.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type ApiResult,
  type ValidEmail,
  MAX_BATCH_SIZE,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  apiError,
  bareAddress,
  canonicalJson,
  defaultErrorMessage,
  defaultErrorName,
  errors,
  isUuid,
  seededRandom,
  validateEmail,
} from './resend-fake-protocol.js';
import {
  type EventDetails,
  type ResendEmailEventType,
  type WebhookDeliveryResult,
  buildResendEmailEvent,
  postResendWebhook,
} from './resend-webhooks.js';

export { connectFakeResend, spawnFakeResend } from './resend-fake-client.js';
export type { RemoteFakeResend, SpawnedFakeResend, SpawnOptions } from './resend-fake-client.js';
export { buildResendEmailEvent, newWebhookSecret, signResendWebhook } from './resend-webhooks.js';
export type { ResendEmailEvent, ResendEmailEventType, SignedWebhook } from './resend-webhooks.js';

export interface FakeEmail {
  id: string;
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
  idempotencyKey?: string;
  /** Fake-clock milliseconds when the email was accepted. */
  receivedAt: number;
  /** `sent` (or `scheduled`) on acceptance; then the last event emitted with `emitWebhook`, e.g. `bounced`. */
  lastEvent: string;
}

export interface FakeResendOptions {
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, any other bearer token gets 403 invalid_api_key. A missing one always gets 401 missing_api_key. */
  apiKey?: string;
  /** Added to every API request; for sends it is spent while the idempotency key is in flight. */
  latencyMs?: number;
  /** Per-second fixed window over all API requests; above it 429 rate_limit_exceeded. Default: unlimited. */
  rateLimitPerSecond?: number;
  /** How long an idempotency key is remembered. Resend keeps keys for 24 hours. */
  idempotencyTtlMs?: number;
  /** The fake's clock (ms), for rate-limit windows, key expiry and timestamps. Default Date.now. */
  now?: () => number;
  /** Keep a record per request for `requests()`. Turn off for long benchmarks; counters stay on. Default true. */
  recordRequests?: boolean;
}

/**
 * A failure injected into a send request (POST /emails or /emails/batch). By default the fault is answered
 * before anything is delivered; `afterDelivery` delivers first and then loses the response.
 */
export interface Fault {
  /** HTTP status; default 500. Ignored by dropConnection and timeoutMs. */
  status?: number;
  /** Error body `name`; default by status (429 rate_limit_exceeded, 5xx internal_server_error, ...). */
  name?: string;
  message?: string;
  /** Adds `retry-after` (and, on 429, Resend's `ratelimit-*` headers). */
  retryAfterSeconds?: number;
  /** A non-JSON body (e.g. a proxy's HTML 502): the SDK then reports `application_error` with the status. */
  rawBody?: string;
  /** Hang this long, then destroy the socket without answering. */
  timeoutMs?: number;
  /** Destroy the socket without answering. */
  dropConnection?: boolean;
  /** Deliver (and remember the idempotency key) first, then answer with this fault: the crash case. */
  afterDelivery?: boolean;
}

export interface RecordedRequest {
  /** Fake-clock milliseconds when the request arrived. */
  at: number;
  method: string;
  path: string;
  /** The HTTP status answered, or how the connection ended without one. */
  status: number | 'dropped' | 'timeout';
  errorName?: string;
  idempotencyKey?: string;
  to?: string[];
  subject?: string;
  /** Ids delivered by (or, for a replay, returned to) this request. */
  emailIds?: string[];
  replayed?: boolean;
  fault?: 'before-delivery' | 'after-delivery';
}

export interface IdempotencyCount {
  /** Send requests that carried the key, whatever happened to them. */
  requests: number;
  /** Of those, how many delivered. More than 1 means a duplicate send. */
  deliveries: number;
}

export interface FakeStats {
  requests: number;
  sendRequests: number;
  /** Emails delivered (a batch counts each email). */
  deliveries: number;
  /** Requests answered from the idempotency store without delivering. */
  replays: number;
  faultsInjected: number;
  /** Count of requests per status, including `dropped` and `timeout`. */
  byStatus: Record<string, number>;
  /** Pending sends held by pauseDeliveries(). */
  pending: number;
  duplicates: {
    /** Idempotency keys that delivered more than once (should always be 0). */
    idempotencyKeys: number;
    /** (recipient, subject) pairs delivered more than once: what a user would see as a duplicate email. */
    recipientSubject: number;
    examples: { recipient: string; subject: string; count: number }[];
  };
}

export interface FakeResend {
  readonly url: string;
  deliveries(): FakeEmail[];
  /** Deliveries whose to/cc/bcc include the address (`Name <a@b>` or bare, case-insensitive). */
  deliveriesTo(address: string): FakeEmail[];
  email(id: string): FakeEmail | undefined;
  requests(): RecordedRequest[];
  countByIdempotencyKey(): Record<string, IdempotencyCount>;
  stats(): FakeStats;
  /** The next `times` send requests (default 1) get this fault; calls queue up in order. */
  failNext(fault: Fault, times?: number): void;
  /** Each send request not taken by failNext fails with probability `rate`, with a fault picked from `faults`. */
  failRandomly(rate: number, faults: Fault[], seed?: number): void;
  /** Sends to a matching address (string: exact address) get a permanent error, 422 validation_error by default. */
  rejectRecipients(match: RegExp | string, fault?: Fault): void;
  /** Accepted sends wait, their idempotency key in flight, until resumeDeliveries(). */
  pauseDeliveries(): void;
  resumeDeliveries(): void;
  /** Resolves once at least `count` sends are waiting on pauseDeliveries(). */
  waitForPending(count: number): Promise<void>;
  /** Posts a signed Resend event about a delivered email to `targetUrl`, and updates its lastEvent. */
  emitWebhook(
    targetUrl: string,
    secret: string,
    type: ResendEmailEventType,
    emailId: string,
    details?: EventDetails,
  ): Promise<WebhookDeliveryResult>;
  reset(): void;
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface StoredKey {
  hash: string;
  result: ApiResult;
  emailIds: string[];
  storedAt: number;
}

interface Rejection {
  matches(address: string): boolean;
  fault?: Fault;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

function emailResource(email: FakeEmail) {
  return {
    object: 'email',
    id: email.id,
    to: email.to,
    from: email.from,
    created_at: new Date(email.receivedAt).toISOString(),
    subject: email.subject,
    html: email.html ?? null,
    text: email.text ?? null,
    bcc: email.bcc ?? null,
    cc: email.cc ?? null,
    reply_to: email.replyTo ?? null,
    last_event: email.lastEvent,
    scheduled_at: email.scheduledAt ?? null,
    tags: email.tags ?? [],
  };
}

export async function startFakeResend(options: FakeResendOptions = {}): Promise<FakeResend> {
  const now = options.now ?? Date.now;
  const ttl = options.idempotencyTtlMs ?? DAY_MS;
  const latencyMs = options.latencyMs ?? 0;
  const recordRequests = options.recordRequests ?? true;
  const timers = new Set<NodeJS.Timeout>();

  let emails: FakeEmail[] = [];
  let byId = new Map<string, FakeEmail>();
  let records: RecordedRequest[] = [];
  let keys = new Map<string, StoredKey>();
  let keyCounts = new Map<string, IdempotencyCount>();
  const inFlight = new Set<string>();
  let queued: { fault: Fault; remaining: number }[] = [];
  let random: { rate: number; faults: Fault[]; next: () => number } | undefined;
  let rejections: Rejection[] = [];
  let counters = { requests: 0, sendRequests: 0, replays: 0, faults: 0 };
  let byStatus = new Map<string, number>();
  let window = { start: Number.NEGATIVE_INFINITY, count: 0 };
  let paused = false;
  let held: (() => void)[] = [];
  let pendingWatchers: { count: number; resolve: () => void }[] = [];

  const countFor = (key: string): IdempotencyCount => {
    let count = keyCounts.get(key);
    if (!count) keyCounts.set(key, (count = { requests: 0, deliveries: 0 }));
    return count;
  };

  function finish(record: RecordedRequest, status: RecordedRequest['status'], errorName?: string) {
    record.status = status;
    if (errorName !== undefined) record.errorName = errorName;
    byStatus.set(String(status), (byStatus.get(String(status)) ?? 0) + 1);
    if (recordRequests) records.push(record);
  }

  function takeFault(): Fault | undefined {
    const head = queued[0];
    if (head) {
      head.remaining -= 1;
      if (head.remaining <= 0) queued.shift();
      return head.fault;
    }
    if (random && random.faults.length > 0 && random.next() < random.rate) {
      return random.faults[Math.floor(random.next() * random.faults.length)];
    }
    return undefined;
  }

  /** Resend's fixed-window limiter: `ratelimit-*` headers on every answer, 429 + retry-after above it. */
  function rateLimit(): { limited: boolean; headers: Record<string, string> } | undefined {
    const limit = options.rateLimitPerSecond;
    if (!limit) return undefined;
    const t = now();
    if (t - window.start >= 1000) window = { start: t, count: 0 };
    window.count += 1;
    const reset = String(Math.max(1, Math.ceil((window.start + 1000 - t) / 1000)));
    const headers: Record<string, string> = {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(Math.max(0, limit - window.count)),
      'ratelimit-reset': reset,
    };
    if (window.count <= limit) return { limited: false, headers };
    return { limited: true, headers: { ...headers, 'retry-after': reset } };
  }

  function faultResult(fault: Fault): ApiResult {
    const status = fault.status ?? 500;
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
    if (status === 429) {
      headers['ratelimit-limit'] = String(options.rateLimitPerSecond ?? 2);
      headers['ratelimit-remaining'] = '0';
      headers['ratelimit-reset'] = String(fault.retryAfterSeconds ?? 1);
    }
    const error = apiError(
      status,
      fault.name ?? defaultErrorName(status),
      fault.message ?? defaultErrorMessage(status),
    );
    return { ...error, headers };
  }

  async function answerFault(res: ServerResponse, fault: Fault, record: RecordedRequest) {
    if (fault.dropConnection) {
      res.socket?.destroy();
      return finish(record, 'dropped');
    }
    if (fault.timeoutMs !== undefined) {
      await sleep(fault.timeoutMs, timers);
      res.socket?.destroy();
      return finish(record, 'timeout');
    }
    const result = faultResult(fault);
    const status = result.status;
    if (fault.rawBody !== undefined) {
      res.writeHead(status, { 'content-type': 'text/html', ...result.headers });
      res.end(fault.rawBody);
      return finish(record, status);
    }
    writeJson(res, status, result.body, result.headers);
    finish(record, status, (result.body as { name: string }).name);
  }

  function rejection(email: ValidEmail): ApiResult | undefined {
    if (rejections.length === 0) return undefined;
    const addresses = [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])].map(bareAddress);
    for (const rule of rejections) {
      if (addresses.some((address) => rule.matches(address))) {
        return rule.fault ? faultResult({ status: 422, ...rule.fault }) : errors.invalidAddress('to');
      }
    }
    return undefined;
  }

  async function beforeDelivery() {
    if (latencyMs > 0) await sleep(latencyMs, timers);
    if (!paused) return;
    await new Promise<void>((resolve) => {
      held.push(resolve);
      pendingWatchers = pendingWatchers.filter((watcher) => {
        if (held.length < watcher.count) return true;
        watcher.resolve();
        return false;
      });
    });
  }

  function deliver(
    valid: { email: ValidEmail; index: number }[],
    key: string | undefined,
    record: RecordedRequest,
  ): string[] {
    const receivedAt = now();
    const ids = valid.map(({ email }) => {
      const stored: FakeEmail = {
        id: randomUUID(),
        ...email,
        ...(key !== undefined && { idempotencyKey: key }),
        receivedAt,
        lastEvent: email.scheduledAt ? 'scheduled' : 'sent',
      };
      emails.push(stored);
      byId.set(stored.id, stored);
      return stored.id;
    });
    if (key !== undefined) countFor(key).deliveries += 1;
    record.emailIds = ids;
    return ids;
  }

  async function sendEmails(
    req: IncomingMessage,
    path: string,
    raw: string,
    key: string | undefined,
    record: RecordedRequest,
  ): Promise<ApiResult> {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return errors.invalidJson();
    }
    if (key !== undefined && (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      return errors.invalidIdempotencyKey();
    }

    const batch = path === '/emails/batch';
    const valid: { email: ValidEmail; index: number }[] = [];
    const batchErrors: { index: number; message: string }[] = [];
    // Permissive batches deliver the valid emails and list the others in `errors` (always present).
    const permissive = batch && header(req, 'x-batch-validation') === 'permissive';
    if (batch) {
      if (!Array.isArray(body) || body.length === 0) {
        return errors.validation('The request body must be a non-empty array of emails.');
      }
      if (body.length > MAX_BATCH_SIZE) {
        return errors.validation(`Too many emails in the batch. The maximum is ${MAX_BATCH_SIZE}.`);
      }
      for (const [index, item] of body.entries()) {
        const checked = validateEmail(item);
        const error = checked.ok ? rejection(checked.email) : checked.error;
        if (error && !permissive) return error;
        if (error) batchErrors.push({ index, message: (error.body as { message: string }).message });
        else if (checked.ok) valid.push({ email: checked.email, index });
      }
    } else {
      const checked = validateEmail(body);
      if (!checked.ok) return checked.error;
      record.to = checked.email.to;
      record.subject = checked.email.subject;
      const error = rejection(checked.email);
      if (error) return error;
      valid.push({ email: checked.email, index: 0 });
    }

    const respond = (ids: string[]): ApiResult => {
      if (!batch) return { status: 200, body: { id: ids[0] } };
      const data = ids.map((id) => ({ id }));
      return { status: 200, body: permissive ? { data, errors: batchErrors } : { data } };
    };

    if (key === undefined) {
      await beforeDelivery();
      return respond(deliver(valid, undefined, record));
    }

    const scoped = `${path}\n${key}`;
    const hash = createHash('sha256').update(canonicalJson(body)).digest('base64');
    const stored = keys.get(scoped);
    if (stored && now() - stored.storedAt < ttl) {
      if (stored.hash !== hash) return errors.invalidIdempotentRequest();
      counters.replays += 1;
      record.replayed = true;
      record.emailIds = stored.emailIds;
      return stored.result;
    }
    if (inFlight.has(scoped)) return errors.concurrentIdempotentRequests();
    inFlight.add(scoped);
    try {
      await beforeDelivery();
      const ids = deliver(valid, key, record);
      const result = respond(ids);
      keys.set(scoped, { hash, result, emailIds: ids, storedAt: now() });
      return result;
    } finally {
      inFlight.delete(scoped);
    }
  }

  async function route(
    req: IncomingMessage,
    path: string,
    raw: string,
    key: string | undefined,
    record: RecordedRequest,
  ) {
    const authorization = header(req, 'authorization');
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
    if (!token) return errors.missingApiKey();
    if (options.apiKey !== undefined && token !== options.apiKey) return errors.invalidApiKey();

    const limit = rateLimit();
    if (limit?.limited) {
      return { ...errors.rateLimitExceeded(options.rateLimitPerSecond!), headers: limit.headers };
    }
    const withLimit = (result: ApiResult): ApiResult =>
      limit ? { ...result, headers: { ...result.headers, ...limit.headers } } : result;

    if (path === '/emails' || path === '/emails/batch') {
      if (req.method !== 'POST') return withLimit(errors.methodNotAllowed());
      return withLimit(await sendEmails(req, path, raw, key, record));
    }
    const match = /^\/emails\/([^/]+)$/.exec(path);
    if (match) {
      if (req.method !== 'GET') return withLimit(errors.methodNotAllowed());
      if (latencyMs > 0) await sleep(latencyMs, timers);
      const id = decodeURIComponent(match[1]!);
      if (!isUuid(id)) return withLimit(errors.invalidParameter('The `id` must be a valid UUID.'));
      const email = byId.get(id);
      return withLimit(
        email ? { status: 200, body: emailResource(email) } : errors.notFound('Email not found'),
      );
    }
    return withLimit(errors.notFound());
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string) {
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { at: now(), method, path, status: 0 };
    const isSend = method === 'POST' && (path === '/emails' || path === '/emails/batch');
    const key = header(req, 'idempotency-key');
    counters.requests += 1;
    if (isSend) {
      counters.sendRequests += 1;
      if (key !== undefined) {
        record.idempotencyKey = key;
        countFor(key).requests += 1;
      }
    }

    const fault = isSend ? takeFault() : undefined;
    if (fault) {
      counters.faults += 1;
      record.fault = fault.afterDelivery ? 'after-delivery' : 'before-delivery';
      if (!fault.afterDelivery) {
        if (latencyMs > 0) await sleep(latencyMs, timers);
        return answerFault(res, fault, record);
      }
    }

    const result = await route(req, path, raw, key, record);
    if (fault) return answerFault(res, fault, record);
    writeJson(res, result.status, result.body, result.headers);
    finish(record, result.status, result.status >= 400 ? (result.body as { name: string }).name : undefined);
  }

  function deliveriesTo(address: string): FakeEmail[] {
    const wanted = bareAddress(address);
    return emails.filter((email) =>
      [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])].some((to) => bareAddress(to) === wanted),
    );
  }

  function stats(): FakeStats {
    const pairs = new Map<string, number>();
    for (const email of emails) {
      for (const to of new Set(email.to.map(bareAddress))) {
        const pair = `${to}\n${email.subject}`;
        pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      }
    }
    const repeated = [...pairs].filter(([, count]) => count > 1);
    return {
      requests: counters.requests,
      sendRequests: counters.sendRequests,
      deliveries: emails.length,
      replays: counters.replays,
      faultsInjected: counters.faults,
      byStatus: Object.fromEntries(byStatus),
      pending: held.length,
      duplicates: {
        idempotencyKeys: [...keyCounts.values()].filter((count) => count.deliveries > 1).length,
        recipientSubject: repeated.length,
        examples: repeated.slice(0, 20).map(([pair, count]) => {
          const [recipient, subject] = pair.split('\n', 2) as [string, string];
          return { recipient, subject, count };
        }),
      },
    };
  }

  async function emitWebhook(
    targetUrl: string,
    secret: string,
    type: ResendEmailEventType,
    emailId: string,
    details: EventDetails = {},
  ): Promise<WebhookDeliveryResult> {
    const email = byId.get(emailId);
    if (!email) throw new Error(`resend fake: no delivered email ${emailId}`);
    const at = details.at ?? new Date(now());
    email.lastEvent = type.slice('email.'.length);
    return postResendWebhook(targetUrl, secret, buildResendEmailEvent(type, email, { ...details, at }), {
      timestamp: at,
    });
  }

  const resumeDeliveries = () => {
    paused = false;
    const release = held;
    held = [];
    for (const resolve of release) resolve();
  };

  const waitForPending = (count: number) =>
    held.length >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => pendingWatchers.push({ count, resolve }));

  const fake: Omit<FakeResend, 'url' | 'close'> = {
    deliveries: () => [...emails],
    deliveriesTo,
    email: (id) => byId.get(id),
    requests: () => [...records],
    countByIdempotencyKey: () =>
      Object.fromEntries([...keyCounts].map(([key, count]) => [key, { ...count }])),
    stats,
    failNext(fault, times = 1) {
      if (times > 0) queued.push({ fault, remaining: times });
    },
    failRandomly(rate, faults, seed = 1) {
      random = rate > 0 ? { rate, faults, next: seededRandom(seed) } : undefined;
    },
    rejectRecipients(match, fault) {
      const wanted = typeof match === 'string' ? bareAddress(match) : undefined;
      rejections.push({
        matches: (address) => (typeof match === 'string' ? address === wanted : match.test(address)),
        ...(fault && { fault }),
      });
    },
    pauseDeliveries() {
      paused = true;
    },
    resumeDeliveries,
    waitForPending,
    emitWebhook,
    reset() {
      resumeDeliveries();
      emails = [];
      byId = new Map();
      records = [];
      keys = new Map();
      keyCounts = new Map();
      queued = [];
      random = undefined;
      rejections = [];
      counters = { requests: 0, sendRequests: 0, replays: 0, faults: 0 };
      byStatus = new Map();
      window = { start: Number.NEGATIVE_INFINITY, count: 0 };
    },
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const handled = path.startsWith('/_fake/') ? control(fake, req, res, path) : api(req, res, path);
    handled.catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      writeJson(res, 500, { statusCode: 500, name: 'internal_server_error', message: String(error) });
    });
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    ...fake,
    url: `http://${host}:${address.port}`,
    async close() {
      resumeDeliveries();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Control endpoints for an out-of-process fake; `connectFakeResend` is their client. */
async function control(
  fake: Omit<FakeResend, 'url' | 'close'>,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const raw = await readBody(req);
  const query = new URL(req.url ?? '/', 'http://fake').searchParams;
  const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
  const ok = () => writeJson(res, 200, { ok: true });
  switch (`${req.method} ${path}`) {
    case 'GET /_fake/deliveries': {
      const to = query.get('to');
      return writeJson(res, 200, to ? fake.deliveriesTo(to) : fake.deliveries());
    }
    case 'GET /_fake/requests':
      return writeJson(res, 200, fake.requests());
    case 'GET /_fake/stats':
      return writeJson(res, 200, fake.stats());
    case 'GET /_fake/idempotency':
      return writeJson(res, 200, fake.countByIdempotencyKey());
    case 'POST /_fake/faults':
      fake.failNext(body.fault as Fault, (body.times as number | undefined) ?? 1);
      return ok();
    case 'POST /_fake/faults/random':
      fake.failRandomly(body.rate as number, body.faults as Fault[], body.seed as number | undefined);
      return ok();
    case 'POST /_fake/rejections': {
      const regex = body.regex as { source: string; flags: string } | undefined;
      const match = regex ? new RegExp(regex.source, regex.flags) : (body.match as string);
      fake.rejectRecipients(match, body.fault as Fault | undefined);
      return ok();
    }
    case 'POST /_fake/pause':
      fake.pauseDeliveries();
      return ok();
    case 'POST /_fake/resume':
      fake.resumeDeliveries();
      return ok();
    case 'GET /_fake/pending':
      await fake.waitForPending(Number(query.get('count') ?? '1'));
      return writeJson(res, 200, { pending: fake.stats().pending });
    case 'POST /_fake/webhooks': {
      const details = (body.details ?? {}) as EventDetails & { at?: string };
      const result = await fake.emitWebhook(
        body.targetUrl as string,
        body.secret as string,
        body.type as ResendEmailEventType,
        body.emailId as string,
        { ...details, ...(details.at !== undefined && { at: new Date(details.at) }) },
      );
      return writeJson(res, 200, result);
    }
    case 'POST /_fake/reset':
      fake.reset();
      return ok();
    default:
      return writeJson(res, 404, { error: `unknown control endpoint ${req.method} ${path}` });
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      'rate-limit': { type: 'string' },
      latency: { type: 'string' },
      'api-key': { type: 'string' },
      'no-record': { type: 'boolean', default: false },
    },
  });
  const fake = await startFakeResend({
    port: Number(values.port),
    host: values.host,
    ...(values['rate-limit'] !== undefined && { rateLimitPerSecond: Number(values['rate-limit']) }),
    ...(values.latency !== undefined && { latencyMs: Number(values.latency) }),
    ...(values['api-key'] !== undefined && { apiKey: values['api-key'] }),
    recordRequests: !values['no-record'],
  });
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`resend fake: ${String(error)}\n`);
    process.exit(1);
  });
}
