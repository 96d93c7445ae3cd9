/**
 * D5 across workers: every provider call takes the next slot of one shared pacer row, so
 * calls from any number of workers are spaced one interval apart, never in a burst.
 */
import { takeSendSlot } from '../../activities/send-pacer.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

test('D5: concurrent senders get slots exactly one interval apart (1/rate, with 4% headroom)', async () => {
  const rate = 20; // 52 ms apart
  // Ten senders at once, as ten workers would be: each on its own connection.
  const taken = await Promise.all(Array.from({ length: 10 }, () => takeSendSlot(db.orm, rate)));
  const slots = taken.map((t) => t.slotMs).sort((a, b) => a - b);
  const gaps = slots.slice(1).map((slot, i) => Math.round((slot - slots[i]!) * 1000) / 1000);
  expect(gaps).toEqual(Array.from({ length: 9 }, () => 52));
  expect(Math.min(...taken.map((t) => t.waitMs))).toBe(0); // the first goes at once
});

test('D5: an idle pacer does not bank slots: after a pause in sending, the next call goes at once and the one after waits', async () => {
  await new Promise((resolve) => setTimeout(resolve, 600)); // past every slot taken above
  expect((await takeSendSlot(db.orm, 2)).waitMs).toBe(0);
  expect((await takeSendSlot(db.orm, 2)).waitMs).toBeGreaterThan(400); // 520 ms after the previous slot
});
