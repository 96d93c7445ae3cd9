/**
 * D5 across workers: provider calls are paced by their actual departures, so that whatever
 * one-second window a provider opens, it never counts more calls than the rate: at most
 * `rate` departures in any 1,025 ms, consecutive ones at least three quarters of the average
 * interval apart.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import {
  GUARD_LEAD_MS,
  LATE_MS,
  openSendTurn,
  pacingFor,
  takeSendTurn,
  type ProviderCall,
} from '../../activities/send-pacer.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase(); // a fresh pacer row for each test
});
afterEach(async () => db?.drop());

const RATE = 5; // at most 5 calls in any 1,025 ms, at least 153.75 ms apart
const { calls, windowMs, spacingMs } = pacingFor(RATE);

/** A provider call that answers at once. */
const noCall = async () => undefined;

/** A provider call that answers at once and notes when it started (performance.now()). */
const timedCall = (starts: number[]) => async () => void starts.push(performance.now());

/** One call from a worker process of its own (its own connection): takes its turn and leaves. */
const departAsWorker = async (rate: number, call: ProviderCall<void> = noCall) =>
  (await openSendTurn(db.orm, rate)).depart(call);

/** The departures and reserved slots the shared row holds, in epoch milliseconds. */
async function pacerEntries(): Promise<number[]> {
  const rows = await db.orm.em
    .fork()
    .execute<{ ms: string }[]>(`select extract(epoch from unnest(departures)) * 1000 as ms from send_pacer`);
  return rows.map((row) => Number(row.ms));
}

/**
 * Fails unless every `calls` + 1 consecutive call starts span the window, and gaps keep the
 * spacing. The spacing counts from the slot the call before reserved, which that call leaves at
 * most `LATE_MS` after (later, it takes another slot); a millisecond of slack for the timers.
 */
function expectPaced(starts: number[]): void {
  const sorted = [...starts].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(spacingMs - LATE_MS - 1);
  }
  for (let i = calls; i < sorted.length; i++) {
    expect(sorted[i]! - sorted[i - calls]!).toBeGreaterThanOrEqual(windowMs - 1);
  }
}

test('D5: pacing at 5/s allows 5 calls in any 1,025 ms (2.5% headroom), at least 153.75 ms apart', () => {
  expect({ calls, windowMs, spacingMs }).toEqual({ calls: 5, windowMs: 1025, spacingMs: 153.75 });
  expect(pacingFor(0.5)).toEqual({ calls: 1, windowMs: 2050, spacingMs: 1537.5 });
});

test('D5: twelve workers sending at once: never more than the rate in any window, and the first goes at once', async () => {
  // Each on its own connection, as twelve worker processes would be.
  const starts: number[] = [];
  const turns = await Promise.all(Array.from({ length: 12 }, () => departAsWorker(RATE, timedCall(starts))));
  expectPaced(starts);
  expect(Math.min(...turns.map((turn) => turn.waitedMs))).toBe(0);
  // Twelve calls at 5 per 1,025 ms: the window, not only the spacing, held them back.
  const departures = turns.map((turn) => turn.departedMs);
  expect(Math.max(...departures) - Math.min(...departures)).toBeGreaterThanOrEqual(2 * windowMs);
});

test('D5: a sender late for its slot takes the next free one at once: the calls behind it keep the window from its real departure', async () => {
  const starts: number[] = [];
  const early = await Promise.all(Array.from({ length: 3 }, () => departAsWorker(RATE, timedCall(starts))));
  // A sender whose guard holds it 1.2 s past its slot (a lock wait, a stalled event loop): by
  // then the senders queued behind it in the worker have reserved slots counting it as gone.
  const lateTurn = await openSendTurn(db.orm, RATE);
  const behind = Array.from({ length: 10 }, async () =>
    (await takeSendTurn(db.orm, RATE)).depart(timedCall(starts)),
  );
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const late = await lateTurn.depart(timedCall(starts));
  const behindDepartures = (await Promise.all(behind)).map((turn) => turn.departedMs);
  const departures = [...early.map((turn) => turn.departedMs), late.departedMs, ...behindDepartures];
  // Had it left on its old slot, six calls would fall within one window.
  expectPaced(starts);
  // Not starved by the queue, which reserves each slot ahead of it: it went before the queue ran dry.
  expect(late.departedMs).toBeLessThan(Math.max(...behindDepartures));
  // Its old slot was given back: what the row keeps are departures only.
  for (const entry of await pacerEntries()) {
    expect(departures.some((departure) => Math.abs(departure - entry) < 0.01)).toBe(true);
  }
});

/**
 * The shared row through a connection whose answers to its first `lateAnswers` reservations
 * come back `delayMs` after the database gave them, as through a stalled event loop:
 * `reserved` resolves once the database has reserved the first slot.
 */
function answeringLate(
  delayMs: number,
  lateAnswers = 1,
): { orm: MikroORM; reserved: Promise<void>; reservations: () => number } {
  let databaseAnswered!: () => void;
  const reserved = new Promise<void>((resolve) => (databaseAnswered = resolve));
  let reservations = 0;
  const fork = () => {
    const em = db.orm.em.fork();
    // The pacer runs its statements as em.execute(sql, params).
    const execute = async (sql: string, params?: unknown[]) => {
      const result = await em.execute(sql, params);
      const reservation = Array.isArray(result) && (result[0] as { reserved?: boolean })?.reserved;
      if (reservation && ++reservations <= lateAnswers) {
        databaseAnswered();
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      return result;
    };
    return Object.assign(Object.create(em) as typeof em, { execute });
  };
  return { orm: { em: { fork } } as unknown as MikroORM, reserved, reservations: () => reservations };
}

test('D5: a slot whose reservation was answered late counts as late: the sender behind it goes first, and the spacing holds', async () => {
  const lateStart: number[] = [];
  const secondStart: number[] = [];
  // The first slot is the database's "now"; the answer reaches the sender 200 ms after.
  const slow = answeringLate(200);
  const late = openSendTurn(slow.orm, RATE, 500).then((turn) => turn.depart(timedCall(lateStart)));
  await slow.reserved;
  // Reserved one spacing after the first slot, and answered at once.
  await (await openSendTurn(db.orm, RATE, 500)).depart(timedCall(secondStart));
  await late;
  // Counted from the late answer, the first would have started 46 ms after the second.
  expect(lateStart[0]!).toBeGreaterThan(secondStart[0]!);
  expectPaced([...lateStart, ...secondStart]);
});

test('D5: a sender whose every reservation is answered late leaves on its fourth slot rather than ask forever, recorded as late as it was', async () => {
  const slow = answeringLate(100, Infinity);
  const { departedMs } = await (await openSendTurn(slow.orm, RATE)).depart(noCall);
  expect(slow.reservations()).toBe(4); // its first slot and three taken again
  // The slots it gave back are gone; its departure is the one entry.
  const entries = await pacerEntries();
  expect(entries).toHaveLength(1);
  expect(entries[0]).toBeCloseTo(departedMs, 0);
});

test('D5: turns overlap: the next sender reserves its slot while the one before has not left yet', async () => {
  // Under one turn at a time, the second reservation would wait for the first departure: here, forever.
  const starts: number[] = [];
  const first = await openSendTurn(db.orm, RATE, 500);
  const second = await openSendTurn(db.orm, RATE, 500);
  await first.depart(timedCall(starts));
  const { waitedMs } = await second.depart(timedCall(starts));
  expectPaced(starts);
  expect(waitedMs).toBeGreaterThan(spacingMs / 2); // reserved a slot after the first one's, not beside it
});

test('D5: senders in one worker queue in memory and keep the same pacing', async () => {
  const departures: number[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      await (await takeSendTurn(db.orm, RATE)).depart(async () => void departures.push(performance.now()));
    }),
  );
  // Measured as each call starts: a millisecond of slack.
  const sorted = departures.sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++)
    expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(spacingMs - 1);
  for (let i = calls; i < sorted.length; i++)
    expect(sorted[i]! - sorted[i - calls]!).toBeGreaterThanOrEqual(windowMs - 1);
});

test('D5: an idle pacer does not bank calls: after a pause, the next call goes at once and the one after waits', async () => {
  await departAsWorker(2);
  await new Promise((resolve) => setTimeout(resolve, 1200)); // past the spacing and the window
  expect((await departAsWorker(2)).waitedMs).toBe(0);
  expect((await departAsWorker(2)).waitedMs).toBeGreaterThan(300); // 384 ms spacing at 2/s
});

test('D5: a turn comes back its lead before the call may leave; depart() waits the rest; a turn given back records no departure', async () => {
  const lastDeparture = async () => (await pacerEntries()).at(-1);
  const first = await departAsWorker(0.25); // the next may leave 4,100 ms later (one call per window)
  const given = await openSendTurn(db.orm, 0.25, 10_000); // a lead longer than its wait: back at once
  await given.release();
  expect(await lastDeparture()).toBeCloseTo(first.departedMs, 0);

  const takenAt = performance.now();
  const turn = await openSendTurn(db.orm, 0.25, 3000);
  const handedBackAfter = performance.now() - takenAt;
  const { waitedMs, departedMs } = await turn.depart(noCall);
  const departedAfter = performance.now() - takenAt;
  expect(waitedMs).toBeGreaterThan(3000);
  // Handed back about 3 s (the lead) early, for the guard: half of it is slack for a busy machine.
  expect(handedBackAfter).toBeLessThan(waitedMs - 1500);
  expect(departedAfter).toBeGreaterThanOrEqual(waitedMs - 5);
  expect(await lastDeparture()).toBeCloseTo(departedMs, 0);
  expect(GUARD_LEAD_MS).toBeLessThan(pacingFor(2).spacingMs); // short: the guard holds rows a pause needs
});

test('D5: a departure is stamped once its request is written, and senders of the worker need not wait for the answers of those before them', async () => {
  const answers: ((value: string) => void)[] = [];
  const written: number[] = [];
  const slowCall: ProviderCall<string> = (requestSent) => {
    // As the Resend SDK does: the request is written a little after the call began.
    setTimeout(() => {
      written.push(Date.now());
      requestSent();
    }, 20);
    return new Promise<string>((resolve) => answers.push(resolve));
  };
  const slow = [0, 1].map(async () => (await takeSendTurn(db.orm, RATE)).depart(slowCall));
  // A third call leaves (its turn taken and passed on) while both before it wait for answers.
  const third = await (await takeSendTurn(db.orm, RATE)).depart(async () => 'third');
  expect(third.answer).toBe('third');
  expect(answers).toHaveLength(2);
  answers.forEach((answer, i) => answer(`slow ${i}`));
  const departed = await Promise.all(slow);
  expect(departed.map((d) => d.answer).sort()).toEqual(['slow 0', 'slow 1']);
  // Each stamp (the database's clock) is taken once its request was written: never before.
  const stamps = departed.map((d) => d.departedMs).sort((a, b) => a - b);
  stamps.forEach((stamp, i) => expect(stamp).toBeGreaterThanOrEqual(written[i]! - 1));
  expectPaced([...stamps, third.departedMs]);
});

test('D5: a call that neither says its request is written nor answers is stamped after a second, and the turn passes on', async () => {
  const turn = await openSendTurn(db.orm, RATE);
  const startedMs = Date.now();
  const { departedMs } = await turn.leave(() => new Promise<never>(() => {}));
  expect(departedMs).toBeGreaterThanOrEqual(startedMs + 1000 - 1);
  expect((await departAsWorker(RATE)).departedMs - departedMs).toBeGreaterThanOrEqual(spacingMs - LATE_MS);
});
