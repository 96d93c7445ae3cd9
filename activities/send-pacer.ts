/**
 * D5, exactly: provider calls from every worker, paced by one shared row in PostgreSQL. The
 * send task queue's server-side rate keeps workers from taking more sends than the provider
 * can receive; the pacer spaces the calls themselves, so a provider that counts requests per
 * second never sees one too many.
 *
 * A sliding window over actual departures. A provider like Resend counts requests in fixed
 * one-second windows, each opened by a request. The pacer keeps the departure times of the
 * last `rate` calls and lets a call leave only when no more than `rate` calls would have left
 * within a window 2.5% longer than a second (1,025 ms). Whatever window the provider opens, the
 * calls it sees left within one second plus the time the opening call took to arrive, so up
 * to 25 ms of transit jitter can never put one call too many into it. (Since the departure is
 * stamped once the request is on its way, that jitter is the network's and the provider's;
 * the worker's own delays before the request leaves do not count against it.)
 *
 * Departures, not reservations: a sender holds the row's lock from the moment it is next
 * until it leaves, starts its call and records the departure (the database's clock) once the
 * request is written to the network, so a call delayed on its way (a busy event loop, a slow
 * wake-up) is counted as late as it was, never as if it had left on time; since the window
 * looks back `rate` calls, the delay is not passed on to every call after it. The turn passes
 * on once the departure is recorded, without waiting for the provider's answer. Calls are
 * also kept at least three quarters of the average interval apart, so a backlog leaves as a
 * steady stream, not as bursts. Within a worker the senders queue in memory first, so pacing
 * holds at most two pooled connections per worker.
 *
 * Queued before the guard, not inside it. A send waits for its turn before its guarded
 * transaction takes the sequence, contact and enrollment rows, and gets the turn back
 * `GUARD_LEAD_MS` before it may leave, so the guard runs in the last part of the wait. A pause
 * therefore never waits behind the sends queued for the provider (at 2/s, ten of them would
 * hold it five seconds): only behind the one whose guard runs, and the guards of those queued
 * see it and hold their steps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import pLimit from 'p-limit';

const HEADROOM = 1.025;
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

/**
 * A provider call, told how to say that its request is written to the network. The departure
 * is stamped then; without word, once it has answered or `REQUEST_SENT_WAIT_MS` after it began.
 */
export type ProviderCall<T> = (requestSent: () => void) => Promise<T>;

/** The longest a turn waits for a call's request to be written before stamping its departure. */
const REQUEST_SENT_WAIT_MS = 1000;

/** A provider call that left in its turn: its answer, and when the pacer recorded it leaving. */
export interface Departure<T> {
  answer: T;
  /** The recorded departure (the database's clock), NaN if it could not be recorded. */
  departedMs: number;
  waitedMs: number;
}

/** A sender's turn at the provider: it holds the shared row until it departs or gives the turn back. */
export interface SendTurn {
  /**
   * Waits out what is left of the turn's wait, starts `call`, records the departure and passes
   * the turn on; resolves once the call has answered.
   */
  depart<T>(call: ProviderCall<T>): Promise<Departure<T>>;
  /** Gives the turn back without a departure (the send was refused or had nothing to send). */
  release(): Promise<void>;
}

/** A call that has left and passed the turn on, its answer still to come. */
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
 * How long before its departure a sender gets its turn back from `takeSendTurn`: the time it
 * has for its guarded transaction, which holds rows a pause must take, so it is kept short.
 * A guard that takes longer only delays that one call (it is counted when it left).
 */
export const GUARD_LEAD_MS = 100;

// Per process, one sender holds the shared row and the next already waits on it in the
// database, so the turn passes on without a round trip; the others queue here, holding no
// connection.
const ownTurn = pLimit(2);
function queueInProcess(): Promise<() => void> {
  return new Promise((entered) => void ownTurn(() => new Promise<void>((leave) => entered(leave))));
}

/**
 * D5: queues for the provider (in this process, then on the shared row) and returns when this
 * call may leave within `GUARD_LEAD_MS`; `depart()` right before the provider call. Returns at
 * once, with a turn that paces nothing, when no rate is configured.
 */
export async function takeSendTurn(
  orm: MikroORM,
  ratePerSecond: number | null | undefined,
): Promise<SendTurn> {
  if (!ratePerSecond) return NO_PACING;
  const leaveQueue = await queueInProcess();
  try {
    const turn = await openSendTurn(orm, ratePerSecond, GUARD_LEAD_MS);
    return {
      // The next sender of this process may queue on the row once this call has left.
      depart: async (call) => answered(await turn.leave(call).finally(leaveQueue)),
      release: () => turn.release().finally(leaveQueue),
    };
  } catch (error) {
    leaveQueue();
    throw error;
  }
}

/**
 * Takes the shared row (waiting for every sender ahead, in any process) and sleeps until
 * `leadMs` before this call may leave. Exported for tests that play several workers.
 */
export async function openSendTurn(
  orm: MikroORM,
  ratePerSecond: number,
  leadMs = 0,
): Promise<SendTurn & { leave<T>(call: ProviderCall<T>): Promise<Left<T>> }> {
  const { calls, windowMs, spacingMs } = pacingFor(ratePerSecond);
  const interval = (ms: number) => `${ms.toFixed(3)} milliseconds`;
  const em = orm.em.fork();
  await em.begin();
  let closed = false;
  const close = async (end: () => Promise<void>) => {
    if (closed) return;
    closed = true;
    await end();
  };
  try {
    // greatest() skips NULLs: with fewer than `calls` departures recorded, the window allows it.
    const [turn] = await em.execute<{ wait_ms: string | null }[]>(TAKE_TURN, [
      calls,
      interval(windowMs),
      interval(spacingMs),
    ]);
    const waitedMs = Number(turn?.wait_ms ?? 0);
    const leaveAt = performance.now() + waitedMs;
    if (waitedMs > leadMs) await sleep(waitedMs - leadMs);
    const leave = async <T>(call: ProviderCall<T>): Promise<Left<T>> => {
      const left = leaveAt - performance.now();
      if (left > 0) await sleep(left);
      // The call starts first and its departure is stamped once its request is written, so the
      // stamp is never earlier than the request left: what lies between (this commit, the
      // event loop handing control back, the SDK building the request) no longer widens the
      // spread between recorded departures and arrivals that the headroom must cover.
      let requestSent!: () => void;
      const written = new Promise<void>((resolve) => (requestSent = resolve));
      const answer = call(requestSent);
      // Also marks the answer handled until the caller awaits it, once the turn has passed on.
      const settled = answer.then(
        () => {},
        () => {},
      );
      await Promise.race([written, settled, sleep(REQUEST_SENT_WAIT_MS, undefined, { ref: false })]);
      let departedMs = Number.NaN;
      try {
        const [departure] = await em.execute<{ departed_ms: string }[]>(DEPART, [calls]);
        await close(() => em.commit());
        departedMs = Number(departure!.departed_ms);
      } catch {
        // The call has left and its answer decides the send; the pacer only misses one departure.
        await close(() => em.rollback().catch(() => {}));
      }
      return { answer, departedMs, waitedMs };
    };
    return {
      leave,
      depart: async (call) => answered(await leave(call)),
      // A connection lost meanwhile has ended the transaction already: nothing left to undo.
      release: () => close(() => em.rollback().catch(() => {})),
    };
  } catch (error) {
    await close(() => em.rollback());
    throw error;
  }
}
