/**
 * D5, exactly: every provider call, from any worker, takes the next slot of one shared pacer
 * row in PostgreSQL, slots one interval apart (a GCRA, or virtual-scheduling, limiter). The
 * send task queue's server-side rate keeps workers from taking more sends than the provider
 * can receive; the pacer spaces the calls themselves evenly, so a provider that counts
 * requests per second never sees a burst. Intervals are 2% longer than the configured rate
 * asks, so the timing jitter of a busy machine cannot squeeze one extra call into a second.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';

const HEADROOM = 1.02;

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
