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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  http: { host: string; port: number; publicUrl: string };
  email: { resendApiKey: string | null; resendBaseUrl: string | null; from: string };
  worker: { maxCachedWorkflows: number };
  logLevel: Env['LOG_LEVEL'];
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
    logLevel: e.LOG_LEVEL,
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
