/**
 * `Idempotency-Key` on every authenticated POST (issue 5).
 *
 * Insert first: before the handler runs, the request claims (workspace, key) with its
 * request hash in a committed row; the primary key makes a concurrent duplicate lose. The
 * loser waits for the winner's stored response and returns it (or, if the winner is still
 * running after `waitMs`, a 409 telling it to retry). When the first request answers, its
 * status, headers and body are stored, and every retry with the same key and request gets
 * exactly that response, marked `idempotent-replayed: true`, without acting again.
 *
 * - Another request (method, path, query or body) under a used key: 422.
 * - Responses that say "try again" are not stored, so a retry really retries: 5xx, and
 *   responses a handler marks with `reply.doNotStoreIdempotentResponse()` (bulk enrollment
 *   results with transient failures). Validation errors (400) never reach the claim.
 * - A claim left behind by a crashed process is taken over after `staleAfterMs`.
 * - Keys are kept for `ttlMs` (24 h by default), then purged.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import stringify from 'safe-stable-stringify';
import { ProblemError } from '../errors.js';
import { IDEMPOTENCY_HEADER } from './route-conventions.js';

export interface IdempotencyOptions {
  ttlMs: number;
  /** How long a duplicate waits for the first request to finish before answering 409. */
  waitMs?: number;
  /** After this long, an unfinished claim is presumed abandoned (its process died). */
  staleAfterMs?: number;
}

/** Response headers worth replaying; the rest (dates, rate-limit counters) are per response. */
const REPLAYED_HEADERS = ['content-type', 'location'];

interface Claim {
  workspaceId: string;
  key: string;
  store: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyClaim: Claim | null;
  }
  interface FastifyReply {
    /** Keeps this response out of the idempotency store, so a retry with the key acts again. */
    doNotStoreIdempotentResponse(): void;
  }
}

interface StoredRow {
  request_hash: string;
  state: 'in_progress' | 'completed';
  /** As PostgreSQL wrote it (microseconds), to take over exactly the claim that was read. */
  locked_at: string;
  created_at: string;
  expired: boolean;
  stale: boolean;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

/** What makes two requests "the same": method, path with query, and the body as canonical JSON. */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${url}\n${stringify(body ?? null)}`)
    .digest('hex');
}

export function registerIdempotency(app: FastifyInstance, orm: MikroORM, options: IdempotencyOptions): void {
  const waitMs = options.waitMs ?? 60_000;
  const staleAfterMs = options.staleAfterMs ?? 5 * 60_000;

  app.decorateRequest('idempotencyClaim', null);
  app.decorateReply('doNotStoreIdempotentResponse', function (this: FastifyReply) {
    if (this.request.idempotencyClaim) this.request.idempotencyClaim.store = false;
  });

  // preHandler: after authentication, rate limiting and validation, right before acting.
  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers[IDEMPOTENCY_HEADER];
    if (request.method !== 'POST' || typeof key !== 'string' || !request.services) return;
    const workspaceId = request.services.workspaceId;
    const hash = requestHash(request.method, request.url, request.body);
    const em = orm.em.fork();
    const deadline = Date.now() + waitMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
      if (await tryClaim(em, workspaceId, key, hash, request)) {
        request.idempotencyClaim = { workspaceId, key, store: true };
        return;
      }
      const row = await readRow(em, workspaceId, key, options.ttlMs, staleAfterMs);
      if (!row) continue; // purged or released between the two statements: claim again
      if (row.state === 'completed' && row.expired) {
        await deleteRow(em, workspaceId, key, row.created_at);
        continue;
      }
      if (row.request_hash !== hash) throw keyReused();
      if (row.state === 'completed') return replay(reply, row);
      if (row.stale) {
        if (await takeOver(em, workspaceId, key, row.locked_at)) {
          request.idempotencyClaim = { workspaceId, key, store: true };
          return;
        }
        continue;
      }
      if (Date.now() >= deadline) {
        reply.header('retry-after', '1');
        throw stillRunning();
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotencyClaim;
    if (!claim) return payload;
    request.idempotencyClaim = null;
    const em = orm.em.fork();
    if (!claim.store || reply.statusCode >= 500 || typeof payload !== 'string') {
      await release(em, claim);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    await em.getConnection().execute(
      `update idempotency_key set state = 'completed', response_status = ?, response_headers = ?::jsonb,
           response_body = ?, completed_at = now() where workspace_id = ? and key = ?`,
      [reply.statusCode, JSON.stringify(headers), payload, claim.workspaceId, claim.key],
    );
    return payload;
  });

  // A request whose client went away before the answer still ran: nothing to release here
  // (onSend runs regardless); a process that died is covered by `staleAfterMs`.

  let purgeTimer: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    const purge = () =>
      purgeExpired(orm.em.fork(), options.ttlMs).catch((err) =>
        app.log.warn({ err }, 'could not purge expired idempotency keys'),
      );
    await purge();
    purgeTimer = setInterval(purge, 10 * 60_000);
    purgeTimer.unref();
  });
  app.addHook('onClose', async () => {
    if (purgeTimer) clearInterval(purgeTimer);
  });
}

async function tryClaim(
  em: EntityManager,
  workspaceId: string,
  key: string,
  hash: string,
  request: FastifyRequest,
): Promise<boolean> {
  const rows = await em.getConnection().execute<{ claimed: number }[]>(
    `insert into idempotency_key (workspace_id, key, request_hash, method, path, state, locked_at, created_at)
       values (?, ?, ?, ?, ?, 'in_progress', now(), now())
       on conflict (workspace_id, key) do nothing
       returning 1 as claimed`,
    [workspaceId, key, hash, request.method, request.url.slice(0, 2000)],
  );
  return rows.length === 1;
}

async function readRow(
  em: EntityManager,
  workspaceId: string,
  key: string,
  ttlMs: number,
  staleAfterMs: number,
): Promise<StoredRow | null> {
  const [row] = await em.getConnection().execute<StoredRow[]>(
    `select request_hash, state, locked_at::text as locked_at, created_at::text as created_at,
            created_at < now() - make_interval(secs => ?) as expired,
            locked_at < now() - make_interval(secs => ?) as stale,
            response_status, response_headers, response_body
       from idempotency_key where workspace_id = ? and key = ?`,
    [ttlMs / 1000, staleAfterMs / 1000, workspaceId, key],
  );
  return row ?? null;
}

async function takeOver(em: EntityManager, workspaceId: string, key: string, lockedAt: string) {
  const rows = await em.getConnection().execute<{ claimed: number }[]>(
    `update idempotency_key set locked_at = now()
       where workspace_id = ? and key = ? and state = 'in_progress' and locked_at = ?::timestamptz
       returning 1 as claimed`,
    [workspaceId, key, lockedAt],
  );
  return rows.length === 1;
}

async function deleteRow(em: EntityManager, workspaceId: string, key: string, createdAt: string) {
  await em
    .getConnection()
    .execute(
      `delete from idempotency_key where workspace_id = ? and key = ? and created_at = ?::timestamptz`,
      [workspaceId, key, createdAt],
    );
}

async function release(em: EntityManager, claim: Claim) {
  await em
    .getConnection()
    .execute(`delete from idempotency_key where workspace_id = ? and key = ? and state = 'in_progress'`, [
      claim.workspaceId,
      claim.key,
    ]);
}

/** Drops keys past their retention; an unfinished claim that old was abandoned long ago. */
export async function purgeExpired(em: EntityManager, ttlMs: number): Promise<number> {
  const rows = await em
    .getConnection()
    .execute<{ key: string }[]>(
      `delete from idempotency_key where created_at < now() - make_interval(secs => ?) returning key`,
      [ttlMs / 1000],
    );
  return rows.length;
}

function replay(reply: FastifyReply, row: StoredRow) {
  // Operators reading the log should see that nothing was done, only answered again.
  reply.log.info(
    { replayedStatus: row.response_status },
    'replayed the stored response of an idempotent request',
  );
  for (const [name, value] of Object.entries(row.response_headers ?? {})) reply.header(name, value);
  return reply
    .header('idempotent-replayed', 'true')
    .code(row.response_status ?? 200)
    .send(row.response_body ?? '');
}

const keyReused = () =>
  new ProblemError(
    422,
    'idempotency-key-reused',
    'Idempotency-Key reused',
    'This Idempotency-Key was used with a different request (method, path or body). Use a new key for a new request.',
    { field: `/headers/${IDEMPOTENCY_HEADER}` },
  );

const stillRunning = () =>
  new ProblemError(
    409,
    'idempotency-key-in-progress',
    'Request still in progress',
    'A request with this Idempotency-Key is still running; retry shortly to get its response.',
    { field: `/headers/${IDEMPOTENCY_HEADER}` },
  );
