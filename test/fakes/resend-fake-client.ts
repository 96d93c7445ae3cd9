// Drives a fake Resend running in another process (end-to-end tests, benchmarks, crash drills) through its
// `/_fake/` control endpoints, with the same query methods as the in-process FakeResend.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeEmail, FakeStats, Fault, IdempotencyCount, RecordedRequest } from './resend-fake.js';
import type { EventDetails, ResendEmailEventType, WebhookDeliveryResult } from './resend-webhooks.js';

export interface RemoteFakeResend {
  readonly url: string;
  deliveries(): Promise<FakeEmail[]>;
  deliveriesTo(address: string): Promise<FakeEmail[]>;
  requests(): Promise<RecordedRequest[]>;
  countByIdempotencyKey(): Promise<Record<string, IdempotencyCount>>;
  stats(): Promise<FakeStats>;
  failNext(fault: Fault, times?: number): Promise<void>;
  failRandomly(rate: number, faults: Fault[], seed?: number): Promise<void>;
  rejectRecipients(match: RegExp | string, fault?: Fault): Promise<void>;
  pauseDeliveries(): Promise<void>;
  resumeDeliveries(): Promise<void>;
  waitForPending(count: number): Promise<void>;
  emitWebhook(
    targetUrl: string,
    secret: string,
    type: ResendEmailEventType,
    emailId: string,
    details?: EventDetails,
  ): Promise<WebhookDeliveryResult>;
  reset(): Promise<void>;
}

export function connectFakeResend(url: string): RemoteFakeResend {
  const base = url.replace(/\/+$/, '');
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${base}/_fake/${path}`, {
      method,
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`resend fake control ${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
  const post = async (path: string, body: unknown = {}) => {
    await call('POST', path, body);
  };
  return {
    url: base,
    deliveries: () => call('GET', 'deliveries'),
    deliveriesTo: (address) => call('GET', `deliveries?to=${encodeURIComponent(address)}`),
    requests: () => call('GET', 'requests'),
    countByIdempotencyKey: () => call('GET', 'idempotency'),
    stats: () => call('GET', 'stats'),
    failNext: (fault, times = 1) => post('faults', { fault, times }),
    failRandomly: (rate, faults, seed) => post('faults/random', { rate, faults, seed }),
    rejectRecipients: (match, fault) =>
      post('rejections', {
        ...(typeof match === 'string' ? { match } : { regex: { source: match.source, flags: match.flags } }),
        fault,
      }),
    pauseDeliveries: () => post('pause'),
    resumeDeliveries: () => post('resume'),
    waitForPending: async (count) => {
      await call('GET', `pending?count=${count}`);
    },
    emitWebhook: (targetUrl, secret, type, emailId, details = {}) =>
      call('POST', 'webhooks', {
        targetUrl,
        secret,
        type,
        emailId,
        details: { ...details, ...(details.at && { at: details.at.toISOString() }) },
      }),
    reset: () => post('reset'),
  };
}

export interface SpawnOptions {
  /** Default 0: a free port. */
  port?: number;
  rateLimitPerSecond?: number;
  latencyMs?: number;
  apiKey?: string;
  recordRequests?: boolean;
}

export interface SpawnedFakeResend extends RemoteFakeResend {
  readonly process: ChildProcess;
  /** SIGTERM the fake and wait for it to exit. */
  stop(): Promise<void>;
}

const FAKE_ENTRY = fileURLToPath(new URL('./resend-fake.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts the fake as its own Node process (via tsx) and connects to it once it reports its URL. */
export async function spawnFakeResend(options: SpawnOptions = {}): Promise<SpawnedFakeResend> {
  const args = ['--import', 'tsx', FAKE_ENTRY, '--port', String(options.port ?? 0)];
  if (options.rateLimitPerSecond !== undefined) args.push('--rate-limit', String(options.rateLimitPerSecond));
  if (options.latencyMs !== undefined) args.push('--latency', String(options.latencyMs));
  if (options.apiKey !== undefined) args.push('--api-key', options.apiKey);
  if (options.recordRequests === false) args.push('--no-record');

  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`resend fake printed ${line}`));
      }
    });
    void exited.then(() => reject(new Error(`resend fake exited before listening: ${stderr}`)));
  });

  return {
    ...connectFakeResend(url),
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
