/**
 * D5, exactly: provider calls from every worker depart one interval apart, paced by one shared
 * row in PostgreSQL. The send task queue's server-side rate keeps workers from taking more
 * sends than the provider can receive; the pacer spaces the calls themselves, so a provider
 * that counts requests per second never sees a burst.
 *
 * Paced by departure, not by reservation. A provider like Resend counts in fixed one-second
 * windows opened by a request: if slots were handed out in advance, a call that leaves late
 * (a busy event loop, a slow wake-up) opens a window that the calls after it, leaving on time,
 * overfill by one. So a sender holds the row's lock from the moment it is next until it
 * departs, and writes its actual departure time; the next sender, in this worker or another,
 * waits one interval from that. A late call only delays those behind it. Within a worker the
 * senders queue in memory first, so pacing holds at most one pooled connection per worker.
 *
 * Headroom: intervals are 4% longer than the rate asks (at 20/s, 52 ms), for the little that
 * can still happen between the recorded departure and the request reaching the provider.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import pLimit from 'p-limit';

const HEADROOM = 1.04;

// One row per provider account, created on first use. `on conflict do update` locks it, so
// this statement both finds when the next call may leave and makes the caller the next one.
const TAKE_TURN = `
  insert into send_pacer as p (id, next_at) values ('provider', clock_timestamp())
  on conflict (id) do update set next_at = p.next_at
  returning greatest(0, extract(epoch from (p.next_at - clock_timestamp())) * 1000) as wait_ms`;

const DEPART = `
  update send_pacer set next_at = clock_timestamp() + ?::interval where id = 'provider'
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
 * Takes the shared row, waits out the interval since the previous departure, and records this
 * departure (epoch ms, the database's clock). Exported for tests that play several workers.
 */
export async function takeSendTurn(
  orm: MikroORM,
  ratePerSecond: number,
): Promise<{ departedMs: number; waitedMs: number }> {
  const interval = `${((1000 * HEADROOM) / ratePerSecond).toFixed(3)} milliseconds`;
  return orm.em.fork().transactional(async (em) => {
    const [turn] = await em.execute<{ wait_ms: string }[]>(TAKE_TURN);
    const waitedMs = Number(turn!.wait_ms);
    if (waitedMs > 0) await sleep(waitedMs);
    const [departure] = await em.execute<{ departed_ms: string }[]>(DEPART, [interval]);
    return { departedMs: Number(departure!.departed_ms), waitedMs };
  });
}
