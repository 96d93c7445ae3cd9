/**
 * D5 across workers: provider calls depart one interval apart, however many workers send at
 * once, and the interval counts from when the previous call actually left.
 */
import { takeSendTurn, waitForSendSlot } from '../../activities/send-pacer.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const RATE = 20; // 52 ms apart with the 4% headroom
const INTERVAL_MS = 52;

function gapsBetween(departures: number[]): number[] {
  const sorted = [...departures].sort((a, b) => a - b);
  return sorted.slice(1).map((at, i) => at - sorted[i]!);
}

test('D5: ten workers sending at once depart at least one interval (1/rate, with 4% headroom) apart', async () => {
  // Each on its own connection, as ten worker processes would be.
  const turns = await Promise.all(Array.from({ length: 10 }, () => takeSendTurn(db.orm, RATE)));
  for (const gap of gapsBetween(turns.map((turn) => turn.departedMs))) {
    expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);
  }
  expect(Math.min(...turns.map((turn) => turn.waitedMs))).toBe(0); // the first goes at once
});

test('D5: a call that leaves late pushes the next one back: the interval counts from the actual departure', async () => {
  const first = takeSendTurn(db.orm, RATE);
  // The second asks while the first is still waiting for its turn to come round.
  const second = takeSendTurn(db.orm, RATE);
  const [a, b] = await Promise.all([first, second]);
  expect(Math.abs(b.departedMs - a.departedMs)).toBeGreaterThanOrEqual(INTERVAL_MS);

  // A sender that holds its turn 300 ms (a stalled event loop) before departing: the one
  // queued behind it still leaves a whole interval after that late departure.
  const late = db.orm.em.fork().transactional(async (em) => {
    await em.execute(`select next_at from send_pacer where id = 'provider' for update`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [row] = await em.execute<{ departed_ms: string }[]>(
      `update send_pacer set next_at = clock_timestamp() + interval '52 milliseconds'
       where id = 'provider' returning extract(epoch from clock_timestamp()) * 1000 as departed_ms`,
    );
    return Number(row!.departed_ms);
  });
  await new Promise((resolve) => setTimeout(resolve, 50)); // the late sender holds the row
  const behind = await takeSendTurn(db.orm, RATE);
  expect(behind.departedMs - (await late)).toBeGreaterThanOrEqual(INTERVAL_MS);
});

test('D5: senders in one worker queue in memory and still depart an interval apart', async () => {
  const departures: number[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      await waitForSendSlot(db.orm, RATE);
      departures.push(performance.now());
    }),
  );
  // Measured here, after the event loop hands back each departure, so a millisecond of slack.
  for (const gap of gapsBetween(departures)) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - 1);
});

test('D5: an idle pacer does not bank slots: after a pause in sending, the next call goes at once and the one after waits', async () => {
  await new Promise((resolve) => setTimeout(resolve, 600)); // past every departure above
  expect((await takeSendTurn(db.orm, 2)).waitedMs).toBe(0);
  expect((await takeSendTurn(db.orm, 2)).waitedMs).toBeGreaterThan(400); // 520 ms after the previous departure
});
