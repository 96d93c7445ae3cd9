/**
 * D5, exactly: provider calls from every worker, paced by one shared row in PostgreSQL. The
 * send task queue's server-side rate keeps workers from taking more sends than the provider
 * can receive; the pacer spaces the calls themselves, so a provider that counts requests per
 * second never sees one too many.
 *
 * A sliding window over departures. A provider like Resend counts requests in fixed one-second
 * windows, each opened by a request. The pacer keeps the times of the recent calls and lets a
 * call leave only when no more than `rate` calls would have left within a window 2.5% longer
 * than a second (1,025 ms). Whatever window the provider opens, the calls it sees left within
 * one second plus the time the opening call took to arrive, so up to 25 ms of transit jitter
 * can never put one call too many into it. Calls are also kept at least three quarters of the
 * average interval apart, so a backlog leaves as a steady stream, not as bursts.
 *
 * Slots, reserved shortly before, then corrected to the actual departure. A sender reserves
 * its slot (the earliest time the window and the spacing allow) in one statement, and only
 * once that slot is at most `GUARD_LEAD_MS` away: further ahead it sleeps and asks again,
 * holding nothing. So the next sender can reserve the following slot while this one runs its
 * guard and its call: turns overlap, and a guard or a request that takes a few milliseconds
 * longer on a loaded machine no longer delays every call behind it (stop 14 measured 18.6/s
 * against a 20/s limit with one turn at a time). Once its request is written to the network,
 * the sender replaces its slot with the actual departure (the database's clock), so a call
 * delayed on its way is counted as late as it was. That correction lands long before it
 * matters: a slot constrains only the slot `rate` calls later (about a second on), and a
 * sender more than `LATE_MS` behind its slot does not leave on it but gives it back and
 * takes the next free one at once. The slot is placed on the sender's clock from when it
 * asked for it, so an answer that came back late (a stalled event loop) counts as lateness:
 * counted from the answer, the sender would leave on the heels of the one reserved after it.
 * A sender that does not send gives its slot back.
 *
 * Reserved before the guard, not inside it. A send reserves its slot before its guarded
 * transaction takes the sequence, contact and enrollment rows, and at most `GUARD_LEAD_MS`
 * before it may leave, so the guard runs in the last part of the wait. A pause therefore
 * never waits behind the sends queued for the provider (at 2/s, ten of them would hold it
 * five seconds): only behind the guards running, and the guards of those queued see it and
 * hold their steps. Within a worker the senders queue in memory first, so only one of them
 * at a time asks the database for a slot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pLimit from 'p-limit';

const HEADROOM = 1.025;
const MIN_SPACING = 0.75;

/** How calls at `ratePerSecond` are paced: at most `calls` in any `windowMs`, `spacingMs` apart. */
export function pacingFor(ratePerSecond: number): { calls: number; windowMs: number; spacingMs: number } {
  const calls = Math.max(1, Math.floor(ratePerSecond));
  const windowMs = ((1000 * calls) / ratePerSecond) * HEADROOM;
  return { calls, windowMs, spacingMs: (windowMs / calls) * MIN_SPACING };
}

// The row (one per provider account) holds the recent departures and reserved slots, sorted;
// none older than the window, since an older one can no longer hold a call back. In one
// statement: lock it, find the earliest slot (after the `calls`-th latest entry plus the window,
// and after the latest plus the spacing; greatest() skips the NULLs of a short history) and
// reserve it if it is at most the lead away. The FOR UPDATE reads the latest row, and the
// update applies to it.
const RESERVE = `
  with pacer as (
    select departures from send_pacer where id = 'provider' for update
  ), plan as (
    select departures, greatest(clock_timestamp(),
        departures[cardinality(departures) - ?::int + 1] + ?::interval,
        departures[cardinality(departures)] + ?::interval) as slot
      from pacer
  ), reserved as (
    update send_pacer p
       set departures = array(select d from unnest(plan.departures || plan.slot) d
                               where d > clock_timestamp() - ?::interval order by d)
      from plan
     where p.id = 'provider' and plan.slot <= clock_timestamp() + ?::interval
    returning plan.slot
  )
  select plan.slot::text as slot,
         greatest(0, extract(epoch from plan.slot - clock_timestamp()) * 1000) as wait_ms,
         exists (select from reserved) as reserved
    from plan`;

const CREATE_ROW = `insert into send_pacer (id, departures) values ('provider', '{}') on conflict (id) do nothing`;

// The slot becomes the actual departure (never earlier than the slot), kept in order; a slot
// no longer there (given up as too old meanwhile) is added, so the departure still counts.
const DEPART = `
  with departure as (select greatest(?::timestamptz, clock_timestamp()) as at)
  update send_pacer
     set departures = array(select d from unnest(
           case when ?::timestamptz = any(departures)
                then array_replace(departures, ?::timestamptz, departure.at)
                else departures || departure.at end) d order by d)
    from departure
   where id = 'provider'
  returning extract(epoch from departure.at) * 1000 as departed_ms`;

const GIVE_BACK = `update send_pacer set departures = array_remove(departures, ?::timestamptz) where id = 'provider'`;

/**
 * A provider call, told how to say that its request is written to the network. The departure
 * is stamped then; without word, once it has answered or `REQUEST_SENT_WAIT_MS` after it began.
 */
export type ProviderCall<T> = (requestSent: () => void) => Promise<T>;

/** The longest a call's request may take to be written before its departure is stamped. */
const REQUEST_SENT_WAIT_MS = 1000;

/** A provider call that left in its turn: its answer, and when the pacer recorded it leaving. */
export interface Departure<T> {
  answer: T;
  /** The recorded departure (the database's clock), NaN if it could not be recorded. */
  departedMs: number;
  /** How long the pacer held the call back. */
  waitedMs: number;
}

/** A sender's turn at the provider: a reserved slot, which it departs on or gives back. */
export interface SendTurn {
  /**
   * Waits out what is left until the slot, starts `call`, records the departure; resolves
   * once the call has answered.
   */
  depart<T>(call: ProviderCall<T>): Promise<Departure<T>>;
  /** Gives the slot back without a departure (the send was refused or had nothing to send). */
  release(): Promise<void>;
}

/** A call that has left and recorded its departure, its answer still to come. */
interface Left<T> extends Omit<Departure<T>, 'answer'> {
  answer: Promise<T>;
}

const answered = async <T>({ answer, ...left }: Left<T>): Promise<Departure<T>> => ({
  answer: await answer,
  ...left,
});

const NO_PACING: SendTurn = {
  depart: async (call) => ({ answer: await call(() => {}), departedMs: Date.now(), waitedMs: 0 }),
  release: async () => {},
};

/**
 * How long before its slot a sender reserves it and gets its turn from `takeSendTurn`: the
 * time it has for its guarded transaction, which holds rows a pause must take, so it is kept
 * short.
 */
export const GUARD_LEAD_MS = 100;

/**
 * A sender that reaches its slot later than this (a guard that waited for a lock) gives it back
 * and takes the next free one, so that no slot is ever corrected by more than this plus the time
 * its request takes to be written: well before the call `rate` calls later (a window, at least
 * half a second, after it) reserves its own slot from it.
 */
export const LATE_MS = 50;
/** How often a late sender takes a new slot before it leaves on the last one however late. */
const MAX_RETAKES = 3;
/** A lead no slot is beyond: the slot is reserved at once. */
const ANY_DISTANCE_MS = 24 * 60 * 60 * 1000;

// Per process, one sender at a time asks for a slot; the others queue here, holding nothing.
const ownTurn = pLimit(1);

/**
 * D5: queues for the provider (in this process, then on the shared row) and returns with a
 * slot at most `GUARD_LEAD_MS` away; `depart()` right before the provider call. Returns at
 * once, with a turn that paces nothing, when no rate is configured.
 */
export async function takeSendTurn(
  orm: MikroORM,
  ratePerSecond: number | null | undefined,
): Promise<SendTurn> {
  if (!ratePerSecond) return NO_PACING;
  return ownTurn(() => openSendTurn(orm, ratePerSecond, GUARD_LEAD_MS));
}

interface ReservedSlot {
  /** The slot as the database wrote it, which identifies it in the row. */
  slot: string;
  /**
   * When it is, on this process's clock, at the latest: the database measured the wait
   * somewhere between the question and its answer, so counted from the answer, leaving then
   * is never early.
   */
  leaveAt: number;
  /**
   * When it is at the earliest: counted from the question. Lateness is measured from here,
   * so an answer that took long to come back (a stalled event loop, a busy database) counts
   * as late, not as a slot that moved.
   */
  earliestAt: number;
  waitedMs: number;
}

/**
 * Reserves the next slot once it is at most `leadMs` away (waiting for every sender ahead, in
 * any process) and returns the turn. Exported for tests that play several workers.
 */
export async function openSendTurn(
  orm: MikroORM,
  ratePerSecond: number,
  leadMs = 0,
): Promise<SendTurn & { leave<T>(call: ProviderCall<T>): Promise<Left<T>> }> {
  const pacing = pacingFor(ratePerSecond);
  const em = orm.em.fork();
  let reserved: ReservedSlot | null = await reserveSlot(em, pacing, leadMs);
  const giveBack = async () => {
    const slot = reserved;
    reserved = null;
    // A slot left behind only holds the next calls back a little: never worth failing a send.
    if (slot) await em.execute(GIVE_BACK, [slot.slot]).catch(() => {});
  };

  const leave = async <T>(call: ProviderCall<T>): Promise<Left<T>> => {
    let slot = reserved!;
    for (let retakes = 0; ; retakes++) {
      const untilSlot = slot.leaveAt - performance.now();
      if (untilSlot > 0) await sleep(untilSlot);
      // Checked once it may leave, so no wait (a guard, a stalled event loop) comes after it.
      // A sender that cannot come within LATE_MS of any slot (the database answering slower
      // than that) leaves on the last it took rather than ask forever: its departure is still
      // recorded as late as it was, which is what keeps the window.
      if (performance.now() - slot.earliestAt <= LATE_MS || retakes === MAX_RETAKES) break;
      // Past its guard already, it takes the next free slot however far: were it to wait for
      // one within the lead, the senders queued with a lead would take every slot before it.
      await giveBack();
      const again = await reserveSlot(em, pacing, ANY_DISTANCE_MS);
      slot = reserved = { ...again, waitedMs: slot.waitedMs + again.waitedMs };
    }
    reserved = null;
    // The call starts first and its departure is stamped once its request is written, so the
    // stamp is never earlier than the request left.
    let requestSent!: () => void;
    const written = new Promise<void>((resolve) => (requestSent = resolve));
    const answer = call(requestSent);
    // Also marks the answer handled until the caller awaits it, once the departure is recorded.
    const settled = answer.then(
      () => {},
      () => {},
    );
    await Promise.race([written, settled, sleep(REQUEST_SENT_WAIT_MS, undefined, { ref: false })]);
    let departedMs = Number.NaN;
    try {
      const [departure] = await em.execute<{ departed_ms: string }[]>(DEPART, [
        slot.slot,
        slot.slot,
        slot.slot,
      ]);
      departedMs = Number(departure!.departed_ms);
    } catch {
      // The call has left and its answer decides the send; the window keeps its slot instead.
    }
    return { answer, departedMs, waitedMs: slot.waitedMs };
  };
  return { leave, depart: async (call) => answered(await leave(call)), release: giveBack };
}

/** Asks for the earliest slot until it is at most `leadMs` away, and reserves it. */
async function reserveSlot(
  em: EntityManager,
  { calls, windowMs, spacingMs }: ReturnType<typeof pacingFor>,
  leadMs: number,
): Promise<ReservedSlot> {
  const interval = (ms: number) => `${ms.toFixed(3)} milliseconds`;
  let waitedMs = 0;
  for (;;) {
    const askedAt = performance.now();
    const [row] = await em.execute<{ slot: string; wait_ms: string; reserved: boolean }[]>(RESERVE, [
      calls,
      interval(windowMs),
      interval(spacingMs),
      interval(windowMs),
      interval(leadMs),
    ]);
    if (!row) {
      await em.execute(CREATE_ROW); // the first call of this provider account
      continue;
    }
    const waitMs = Number(row.wait_ms);
    if (row.reserved) {
      const leaveAt = performance.now() + waitMs;
      return { slot: row.slot, leaveAt, earliestAt: askedAt + waitMs, waitedMs: waitedMs + waitMs };
    }
    // Not yet within the lead: nothing held meanwhile, and the slot may have moved on by then.
    const napMs = Math.max(1, waitMs - leadMs);
    await sleep(napMs);
    waitedMs += napMs;
  }
}
