/**
 * The reference model itself, on hand-worked examples: if it is to judge the workflow, a
 * reader must be able to check it against the rules directly.
 */
import { runModel, type ModelCase, type ModelStep } from '../model/enrollment-model.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-12-07T00:00:00Z'); // a Monday

const step = (id: string, delayMs: number, expiresAfterMs: number | null = null): ModelStep => ({
  id,
  delayMs,
  expiresAfterMs,
  subject: `${id} v0`,
});
const threeSteps = [step('a', 0), step('b', 3 * DAY), step('c', 4 * DAY)];
const model = (overrides: Partial<ModelCase>): ModelCase => ({
  startMs: START,
  steps: threeSteps,
  window: null,
  zone: 'UTC',
  ops: [],
  endMs: START + 60 * DAY,
  ...overrides,
});
const sends = (outcome: ReturnType<typeof runModel>) =>
  outcome.deliveries.map((d) => [d.kind, d.stepId, d.status, d.atMs === null ? d.reason : d.atMs - START]);

test('E1/T1: every step goes at its exact delay after the previous one, then the enrollment completes', () => {
  const outcome = runModel(model({}));
  expect(sends(outcome)).toEqual([
    ['first', 'a', 'sent', 0],
    ['first', 'b', 'sent', 3 * DAY],
    ['first', 'c', 'sent', 7 * DAY],
  ]);
  expect(outcome.final.status).toBe('completed');
});

test('E8/S4: a pause holds the pending step; resume sends it at once, and the next keeps its delay', () => {
  const outcome = runModel(
    model({
      ops: [
        { atMs: START + DAY, op: { kind: 'pause' } },
        { atMs: START + 10 * DAY, op: { kind: 'resume' } },
      ],
    }),
  );
  expect(outcome.ops.map((op) => op.after.status)).toEqual(['paused', 'active']);
  expect(sends(outcome)).toEqual([
    ['first', 'a', 'sent', 0],
    ['first', 'b', 'sent', 10 * DAY],
    ['first', 'c', 'sent', 14 * DAY],
  ]);
});

test('S4/T1: an overdue step goes at the next window opening; one past its end date is skipped as expired', () => {
  const window = { days: [1, 2, 3, 4, 5], startHour: 9, endHour: 17 };
  const outcome = runModel(
    model({
      window,
      steps: [step('a', 10 * HOUR), step('b', DAY, 2 * DAY + HOUR / 2)],
      ops: [
        { atMs: START + 1 * HOUR, op: { kind: 'sequencePause' } },
        // Friday 20:00: outside the window; step a is overdue, b not yet due.
        { atMs: START + 4 * DAY + 20 * HOUR, op: { kind: 'sequenceResume' } },
      ],
    }),
  );
  expect(sends(outcome)).toEqual([
    ['first', 'a', 'sent', 7 * DAY + 9 * HOUR], // Monday 09:00, the next opening
    ['first', 'b', 'sent', 8 * DAY + 9 * HOUR], // its delay after a, inside the window
  ]);
  const expired = runModel(
    model({
      steps: [step('a', 0), step('b', DAY, 2 * HOUR + HOUR / 2)],
      ops: [
        { atMs: START + HOUR, op: { kind: 'pause' } },
        { atMs: START + 3 * DAY, op: { kind: 'resume' } },
      ],
    }),
  );
  expect(sends(expired)).toEqual([
    ['first', 'a', 'sent', 0],
    ['first', 'b', 'skipped', 'expired'],
  ]);
});

test('S5: after an edit the contact continues after its last step in the new order, passing over done steps', () => {
  const outcome = runModel(
    model({
      steps: [step('a', 0), step('b', DAY), step('c', DAY)],
      ops: [
        {
          atMs: START + DAY + HOUR,
          op: { kind: 'edit', steps: [step('b', DAY), step('a', DAY), step('d', 2 * DAY), step('c', DAY)] },
        },
      ],
    }),
  );
  expect(sends(outcome)).toEqual([
    ['first', 'a', 'sent', 0],
    ['first', 'b', 'sent', DAY],
    ['first', 'd', 'sent', 3 * DAY], // after b comes a (done: passed over), then d, due 2 days after b
    ['first', 'c', 'sent', 4 * DAY],
  ]);
});

test('E9: skip counts the next delay from the skip; resend goes at once and only once; E4: nothing after a cancel', () => {
  const outcome = runModel(
    model({
      ops: [
        { atMs: START + DAY, op: { kind: 'skip' } },
        { atMs: START + 2 * DAY, op: { kind: 'resend', pick: 0 } },
        { atMs: START + 2 * DAY + HOUR, op: { kind: 'resend', pick: 0 } },
        { atMs: START + 3 * DAY, op: { kind: 'cancel' } },
        { atMs: START + 4 * DAY, op: { kind: 'resume' } },
      ],
    }),
  );
  expect(outcome.ops.map((op) => [op.accepted, op.stepId])).toEqual([
    [true, 'b'],
    [true, 'a'],
    [false, 'a'],
    [true, null],
    [false, null],
  ]);
  expect(sends(outcome)).toEqual([
    ['first', 'a', 'sent', 0],
    ['first', 'b', 'skipped', 'skipped'],
    ['resend', 'a', 'sent', 2 * DAY],
  ]);
  expect(outcome.final.status).toBe('cancelled');
});
