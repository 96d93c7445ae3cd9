/**
 * Configuration, validated once at start-up (CONVENTIONS §7). A bad value stops the process
 * with a message naming the variable. Workflows never read configuration.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('nudge'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(3000),
  /** Where people reach the API; unsubscribe links point here. */
  PUBLIC_URL: z.url().optional(),
  /** Without it, emails go to the development outbox (logged and kept in the database). */
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: z.url().optional(),
  EMAIL_FROM: z.string().min(3).default('Nudge <nudge@localhost>'),
  /**
   * Workflows kept in the worker's sticky cache. Enrollments sleep for days between steps,
   * so caching them buys nothing and costs ~0.5 MB each; a small cache keeps memory flat as
   * enrollments grow (a woken workflow replays its short history instead).
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(250),
  /**
   * D5: sends handed to the provider per second, across every worker (Temporal enforces it on
   * the send task queue). Resend's default limit is 2 requests per second; 0 means no limit.
   */
  SEND_RATE_PER_SECOND: z.coerce.number().min(0).default(2),
  /** Sends one worker process runs at once; each holds a database connection meanwhile. */
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Requests one API key may make per window, across every route of one API process. */
  RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Largest request body in bytes; bulk enrollment has its own, larger limit. */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  BULK_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** How long a stored Idempotency-Key response is replayed. */
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().default(24),
  /** Bulk enrollment: rows per transaction, transactions in flight, workflow starts in flight. */
  BULK_CHUNK_SIZE: z.coerce.number().int().min(1).max(1000).default(250),
  BULK_CHUNK_CONCURRENCY: z.coerce.number().int().min(1).max(10).default(3),
  BULK_START_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  /** How long shutdown waits for in-flight requests before giving up. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  http: { host: string; port: number; publicUrl: string };
  email: { resendApiKey: string | null; resendBaseUrl: string | null; from: string };
  worker: { maxCachedWorkflows: number };
  sends: { ratePerSecond: number | null; concurrency: number };
  logLevel: Env['LOG_LEVEL'];
  api: ApiLimits & { shutdownTimeoutMs: number };
  bulk: { chunkSize: number; chunkConcurrency: number; startConcurrency: number };
}

/** The API's protective limits (rate, body size, idempotency retention). */
export interface ApiLimits {
  rateLimit: { max: number; windowMs: number };
  bodyLimitBytes: number;
  bulkBodyLimitBytes: number;
  idempotencyTtlMs: number;
  /** How long a duplicate request waits for the first one before answering 409. */
  idempotencyWaitMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
    },
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}` },
    email: {
      resendApiKey: e.RESEND_API_KEY ?? null,
      resendBaseUrl: e.RESEND_BASE_URL ?? null,
      from: e.EMAIL_FROM,
    },
    worker: { maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS },
    sends: {
      ratePerSecond: e.SEND_RATE_PER_SECOND > 0 ? e.SEND_RATE_PER_SECOND : null,
      concurrency: e.SEND_CONCURRENCY,
    },
    logLevel: e.LOG_LEVEL,
    api: {
      rateLimit: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      bulkBodyLimitBytes: e.BULK_BODY_LIMIT_BYTES,
      idempotencyTtlMs: e.IDEMPOTENCY_TTL_HOURS * 3_600_000,
      idempotencyWaitMs: 60_000,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    bulk: {
      chunkSize: e.BULK_CHUNK_SIZE,
      chunkConcurrency: e.BULK_CHUNK_CONCURRENCY,
      startConcurrency: e.BULK_START_CONCURRENCY,
    },
  };
}

/** For process entry points: load or exit with the message (no stack trace for a typo). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
