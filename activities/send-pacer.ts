/**
 * D5, exactly: provider calls from every worker, paced by one shared row in PostgreSQL. The
 * send task queue's server-side rate keeps workers from taking more sends than the provider
 * can receive; the pacer spaces the calls themselves, so a provider that counts requests per
 * second never sees one too many.
 *
 * A sliding window over actual departures. A provider like Resend counts requests in fixed
 * one-second windows, each opened by a request. The pacer keeps the departure times of the
 * last `rate` calls and lets a call leave only when no more than `rate` calls would have left
 * within a window 4% longer than a second (1,040 ms). Whatever window the provider opens, the
 * calls it sees left within one second plus the time the opening call took to arrive, so up
 * to 40 ms of transit jitter can never put one call too many into it.
 *
 * Departures, not reservations: a sender holds the row's lock from the moment it is next
 * until it leaves and records when it actually left, so a call delayed on its way (a busy
 * event loop, a slow wake-up) is counted as late as it was, never as if it had left on time;
 * and since the window looks back `rate` calls, the delay is not passed on to every call
 * after it. Calls are also kept at least three quarters of the average interval apart, so
 * a backlog leaves as a steady stream, not as bursts. Within a worker the senders queue in
 * memory first, so pacing holds at most one pooled connection per worker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import pLimit from 'p-limit';

const HEADROOM = 1.04;
const MIN_SPACING = 0.75;

/** How calls at `ratePerSecond` are paced: at most `calls` in any `windowMs`, `spacingMs` apart. */
export function pacingFor(ratePerSecond: number): { calls: number; windowMs: number; spacingMs: number } {
  const calls = Math.max(1, Math.floor(ratePerSecond));
  const windowMs = ((1000 * calls) / ratePerSecond) * HEADROOM;
  return { calls, windowMs, spacingMs: (windowMs / calls) * MIN_SPACING };
}

// One row per provider account, created on first use. `on conflict do update` locks it, so
// this statement both finds when the next call may leave and makes the caller the next one:
// after the `calls`-th latest departure plus the window, and after the latest plus the spacing.
const TAKE_TURN = `
  insert into send_pacer as p (id, departures) values ('provider', '{}')
  on conflict (id) do update set departures = p.departures
  returning greatest(0, extract(epoch from greatest(
      p.departures[cardinality(p.departures) - ?::int + 1] + ?::interval,
      p.departures[cardinality(p.departures)] + ?::interval
    ) - clock_timestamp()) * 1000) as wait_ms`;

// Keeps the last `calls` departures, this one included.
const DEPART = `
  update send_pacer
     set departures = (departures || clock_timestamp())[greatest(1, cardinality(departures) + 2 - ?::int):]
   where id = 'provider'
  returning extract(epoch from clock_timestamp()) * 1000 as departed_ms`;

// One sender per process waits on the shared row; the others wait here, holding no connection.
const ownTurn = pLimit(1);

/** Waits until this call may leave for the provider; returns at once when no rate is configured. */
export async function waitForSendSlot(
  orm: MikroORM,
  ratePerSecond: number | null | undefined,
): Promise<void> {
  if (!ratePerSecond) return;
  await ownTurn(() => takeSendTurn(orm, ratePerSecond));
}

/**
 * Takes the shared row, waits until a call may leave, and records this departure (epoch ms,
 * the database's clock). Exported for tests that play several workers.
 */
export async function takeSendTurn(
  orm: MikroORM,
  ratePerSecond: number,
): Promise<{ departedMs: number; waitedMs: number }> {
  const { calls, windowMs, spacingMs } = pacingFor(ratePerSecond);
  const interval = (ms: number) => `${ms.toFixed(3)} milliseconds`;
  return orm.em.fork().transactional(async (em) => {
    // greatest() skips NULLs: with fewer than `calls` departures recorded, the window allows it.
    const [turn] = await em.execute<{ wait_ms: string | null }[]>(TAKE_TURN, [
      calls,
      interval(windowMs),
      interval(spacingMs),
    ]);
    const waitedMs = Number(turn?.wait_ms ?? 0);
    if (waitedMs > 0) await sleep(waitedMs);
    const [departure] = await em.execute<{ departed_ms: string }[]>(DEPART, [calls]);
    return { departedMs: Number(departure!.departed_ms), waitedMs };
  });
}
