/**
 * Configuration, validated once at start-up (CONVENTIONS §7). A bad value stops the process
 * with a message naming the variable. Workflows never read configuration.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

/** What one worker process polls for: a deployment can run each role in its own processes. */
export const WORKER_ROLES = ['enrollments', 'sends', 'fanout'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** `enrollments,sends` → the listed roles, each once; an unknown or repeated name is refused. */
const workerRoles = z.string().transform((value, context) => {
  const roles = value.split(',').map((role) => role.trim());
  const unknown = roles.filter((role) => !(WORKER_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) {
    const named = unknown.map((role) => JSON.stringify(role)).join(', ');
    context.addIssue({
      code: 'custom',
      message: `${named}: each role must be one of ${WORKER_ROLES.join(', ')}`,
    });
    return z.NEVER;
  }
  if (new Set(roles).size !== roles.length) {
    context.addIssue({ code: 'custom', message: 'names a role twice' });
    return z.NEVER;
  }
  return roles as WorkerRole[];
});

/**
 * Sends a worker runs at once unless SEND_CONCURRENCY says. Without a provider rate each send
 * holds a database connection for its whole transaction: 10. With one, a send waiting for its
 * turn holds no connection and no row (D5), and a worker needs enough sends in hand to keep
 * the pacer busy while those that left finish and the next are polled and prepared (half a
 * second or more each on a loaded machine): twice the rate, at least 10 and at most 100.
 */
export function defaultSendConcurrency(ratePerSecond: number): number {
  return Math.min(100, Math.max(10, Math.ceil(2 * ratePerSecond)));
}

const fields = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('nudge'),
  /** Temporal Cloud API key; implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.stringbool().optional(),
  /** mTLS to Temporal: a client certificate and its key, PEM files. */
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
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
   * What this worker process runs: `enrollments` (the enrollment workflows and their
   * bookkeeping), `sends` (the send activity, D5's rate limit), `fanout` (sequence pause,
   * resume, edit and delete fan-outs). All three by default; split them across processes to
   * scale each, or to keep a fan-out's signals off the thread that runs enrollment workflows.
   */
  WORKER_ROLES: workerRoles.default([...WORKER_ROLES]),
  /**
   * D5: sends handed to the provider per second, across every worker (Temporal enforces it on
   * the send task queue). Resend's default limit is 2 requests per second; 0 means no limit.
   */
  SEND_RATE_PER_SECOND: z.coerce.number().min(0).default(2),
  /** Sends one worker process runs at once; unset: `defaultSendConcurrency` of the rate. */
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(500).optional(),
  /**
   * D7: signs unsubscribe links. The API verifies what the worker signed, so both need the
   * same value; changing it invalidates the links in emails already sent.
   */
  UNSUBSCRIBE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** D6: the signing secret of the Resend webhook (`whsec_…`); without it webhooks answer 503. */
  RESEND_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+=*$/, 'must be the `whsec_…` signing secret Resend shows for the webhook')
    .optional(),
  NODE_ENV: z.string().optional(),
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
  /** Signals a sequence fan-out (pause, resume, edit, delete) keeps in flight at once. */
  FANOUT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  /** How long shutdown waits for in-flight requests before giving up. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** The worker's Prometheus endpoint (`/metrics`, with the Temporal SDK's metrics merged in). */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: port.default(9464),
  /** Where the worker's Temporal SDK exports its own metrics, on loopback (default: any free
   *  port); /metrics merges them. */
  TEMPORAL_SDK_METRICS_PORT: port.optional(),
  /** When set, /metrics (API and worker) requires `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** A workflow bundle built ahead of time (`npm run build`); without it the worker bundles at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** The Temporal Web UI, for links from the outbox page. */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
});

const schema = fields.superRefine((env, context) => {
  // A well-known development secret would let anyone unsubscribe anyone who gets real email.
  if (env.NODE_ENV === 'production' && env.RESEND_API_KEY && !env.UNSUBSCRIBE_SECRET) {
    context.addIssue({
      code: 'custom',
      path: ['UNSUBSCRIBE_SECRET'],
      message:
        'is required when NODE_ENV=production and RESEND_API_KEY is set (e.g. `openssl rand -base64 48`)',
    });
  }
});

/**
 * Signs unsubscribe links when UNSUBSCRIBE_SECRET is not set outside production. Public, so
 * links signed with it prove nothing: the worker warns when real emails carry them.
 */
export const DEVELOPMENT_UNSUBSCRIBE_SECRET = 'nudge-development-unsubscribe-secret-do-not-use-in-production';

export type Env = z.infer<typeof schema>;

export interface Config {
  databaseUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    apiKey: string | null;
    /** null: plain gRPC; otherwise TLS, with a client certificate for mTLS when given. */
    tls: { certPath: string; keyPath: string } | Record<string, never> | null;
  };
  http: { host: string; port: number; publicUrl: string };
  email: { resendApiKey: string | null; resendBaseUrl: string | null; from: string };
  worker: { maxCachedWorkflows: number; fanOutConcurrency: number; roles: WorkerRole[] };
  sends: { ratePerSecond: number | null; concurrency: number };
  delivery: DeliveryConfig;
  logLevel: Env['LOG_LEVEL'];
  api: ApiLimits & { shutdownTimeoutMs: number };
  bulk: { chunkSize: number; chunkConcurrency: number; startConcurrency: number };
  metrics: { host: string; port: number; temporalSdkPort: number | null; token: string | null };
  workflowBundlePath: string | null;
  temporalUiUrl: string | null;
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

/** What signs and verifies the links and events around a delivery (D6, D7). */
export interface DeliveryConfig {
  /** Where unsubscribe links point (`PUBLIC_URL`). */
  publicUrl: string;
  unsubscribeSecret: string;
  /** Resend's webhook signing secret; null when webhooks are not set up. */
  webhookSecret: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" (Compose passes `${RESEND_API_KEY:-}` as an empty string).
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError([
      'TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH: give both (a client certificate and its key) or neither',
    ]);
  }
  if (e.METRICS_PORT !== 0 && e.METRICS_PORT === e.TEMPORAL_SDK_METRICS_PORT) {
    throw new ConfigError([
      'TEMPORAL_SDK_METRICS_PORT: must differ from METRICS_PORT (the worker serves /metrics there and merges the SDK port in)',
    ]);
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/+$/, '');
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY ?? null,
      tls: temporalTls(e),
    },
    http: { host: e.HOST, port: e.PORT, publicUrl },
    email: {
      resendApiKey: e.RESEND_API_KEY ?? null,
      resendBaseUrl: e.RESEND_BASE_URL ?? null,
      from: e.EMAIL_FROM,
    },
    worker: {
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      fanOutConcurrency: e.FANOUT_CONCURRENCY,
      roles: e.WORKER_ROLES,
    },
    sends: {
      ratePerSecond: e.SEND_RATE_PER_SECOND > 0 ? e.SEND_RATE_PER_SECOND : null,
      concurrency: e.SEND_CONCURRENCY ?? defaultSendConcurrency(e.SEND_RATE_PER_SECOND),
    },
    delivery: {
      publicUrl,
      unsubscribeSecret: e.UNSUBSCRIBE_SECRET ?? DEVELOPMENT_UNSUBSCRIBE_SECRET,
      webhookSecret: e.RESEND_WEBHOOK_SECRET ?? null,
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
    metrics: {
      host: e.METRICS_HOST,
      port: e.METRICS_PORT,
      temporalSdkPort: e.TEMPORAL_SDK_METRICS_PORT ?? null,
      token: e.METRICS_TOKEN ?? null,
    },
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH ?? null,
    temporalUiUrl: e.TEMPORAL_UI_URL?.replace(/\/+$/, '') ?? null,
  };
}

function temporalTls(e: Env): Config['temporal']['tls'] {
  if (e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH) {
    return { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH };
  }
  return (e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_API_KEY)) ? {} : null;
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
