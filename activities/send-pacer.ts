/**
 * D5, exactly: every provider call, from any worker, takes the next slot of one shared pacer
 * row in PostgreSQL, slots one interval apart (a GCRA, or virtual-scheduling, limiter). The
 * send task queue's server-side rate keeps workers from taking more sends than the provider
 * can receive; the pacer spaces the calls themselves evenly, so a provider that counts
 * requests per second never sees a burst.
 *
 * Jitter. A provider like Resend counts in fixed one-second windows opened by a request: when
 * that opening request is late by d and those after it are on time, the window holds one call
 * more than the rate unless rate × interval ≥ 1 s + d. Intervals are 4% longer than the rate
 * asks (at 20/s: 52 ms apart, so a window opener may be 40 ms late), which a busy machine's
 * event loop stays within; 2% (20 ms) let 5 of 2,000 calls through to a 429 in bench/due-burst.
 * The wait counts from the database's answer: counting from before the query would fire early
 * whenever the query queued for a pooled connection, which breaks a window the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';

const HEADROOM = 1.04;

// One row per provider account; the statement creates it on first use. The slot is the later
// of "now" and the row's next free time; the row moves one interval past it.
const TAKE_SLOT = `
  insert into send_pacer as p (id, next_at) values ('provider', clock_timestamp() + ?::interval)
  on conflict (id) do update set next_at = greatest(p.next_at, clock_timestamp()) + ?::interval
  returning extract(epoch from (p.next_at - ?::interval)) * 1000 as slot_ms,
            greatest(0, extract(epoch from (p.next_at - ?::interval - clock_timestamp())) * 1000) as wait_ms`;

/** Waits for this call's slot; returns at once when no rate is configured. */
export async function waitForSendSlot(
  orm: MikroORM,
  ratePerSecond: number | null | undefined,
): Promise<void> {
  if (!ratePerSecond) return;
  const { waitMs } = await takeSendSlot(orm, ratePerSecond);
  if (waitMs > 0) await sleep(waitMs);
}

/** Reserves the next slot: when it is (epoch ms, the database's clock) and how long to wait for it. */
export async function takeSendSlot(
  orm: MikroORM,
  ratePerSecond: number,
): Promise<{ slotMs: number; waitMs: number }> {
  const interval = `${((1000 * HEADROOM) / ratePerSecond).toFixed(3)} milliseconds`;
  // Its own connection and statement: the row is locked only for the update, not the send.
  const [slot] = await orm.em
    .fork()
    .getConnection()
    .execute<{ slot_ms: string; wait_ms: string }[]>(TAKE_SLOT, [interval, interval, interval, interval]);
  return { slotMs: Number(slot!.slot_ms), waitMs: Number(slot!.wait_ms) };
}
