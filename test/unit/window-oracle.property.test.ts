/**
 * T1/T2: the reference model's brute-force send window agrees with the production algorithm
 * (workflows/send-window.ts) on every window and zone the model test generates, across the
 * daylight-saving transitions of several years.
 */
import fc from 'fast-check';
import { nextSendTime } from '../../workflows/send-window.js';
import { MODEL_ZONES } from '../model/arbitraries.js';
import { earliestSendTime } from '../model/window-oracle.js';

const hhmm = (hour: number) => `${String(hour).padStart(2, '0')}:00`;

test('T1/T2: the brute-force oracle and nextSendTime choose the same instant (whole-hour windows, model zones, 2026–2032)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2032-12-31T00:00:00Z') }),
      fc.constantFrom(...MODEL_ZONES),
      fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 1, max: 24 }),
      (dueMs, zone, days, startHour, endHour) => {
        fc.pre(startHour !== endHour && !(startHour === 0 && endHour === 24));
        const production = nextSendTime(
          dueMs,
          { days: days as (1 | 2 | 3 | 4 | 5 | 6 | 7)[], start: hhmm(startHour), end: hhmm(endHour) },
          zone,
        );
        expect(earliestSendTime(dueMs, { days, startHour, endHour }, zone)).toBe(production);
      },
    ),
    { numRuns: 3000 },
  );
});
