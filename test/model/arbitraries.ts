/**
 * fast-check generators of model cases: a sequence, a send window, a contact's zone and a
 * timed list of operations. Times are relative (hours after the start) until the driver pins
 * them to the test server's clock.
 *
 * Generated times never tie: the enrollment starts on a whole hour, windows open and close on
 * whole local hours in zones with whole-hour offsets, and each operation lands on its own odd
 * minute before half past (step delays are whole hours, end dates whole hours and a half). A
 * send and an operation, or an end date and a send, are then always minutes apart, so neither
 * the real system nor the model has to break a tie the other might break differently.
 */
import fc from 'fast-check';
import type { ModelOp, ModelStep } from './enrollment-model.js';
import type { ModelWindow } from './window-oracle.js';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;

/** Zones with whole-hour offsets, with and without daylight saving, both hemispheres. */
export const MODEL_ZONES = [
  'UTC',
  'Europe/Paris',
  'Europe/London',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Australia/Sydney',
  'America/Sao_Paulo',
] as const;

const STEP_IDS = ['s1', 's2', 's3', 's4', 's5', 's6'];
const OP_MINUTES = Array.from({ length: 15 }, (_, i) => 2 * i + 1); // 1, 3, … 29

export interface RelativeOp {
  /** Hours after the previous operation (after the start for the first). */
  gapHours: number;
  /** Minute past the hour it lands on; distinct across a case's operations. */
  minute: number;
  op: ModelOp;
}

export interface GeneratedCase {
  /** Hours the clock moves on before the case starts, so cases fall in every season. */
  startDelayHours: number;
  steps: ModelStep[];
  window: ModelWindow | null;
  sequenceZone: string;
  /** The contact's own zone; null falls back to the sequence's (T1). */
  contactZone: string | null;
  ops: RelativeOp[];
}

function stepsArbitrary(version: number): fc.Arbitrary<ModelStep[]> {
  return fc.uniqueArray(fc.constantFrom(...STEP_IDS), { minLength: 1, maxLength: 4 }).chain((ids) =>
    fc.tuple(
      ...ids.map((id, index) =>
        fc.record({
          id: fc.constant(id),
          delayMs: fc.integer({ min: 0, max: index === 0 ? 48 : 72 }).map((hours) => hours * HOUR),
          expiresAfterMs: fc.option(
            fc.integer({ min: 0, max: 48 }).map((hours) => hours * HOUR + 30 * MINUTE),
            { freq: 3 },
          ),
          subject: fc.constant(`${id} v${version}`),
        }),
      ),
    ),
  );
}

const windowArbitrary: fc.Arbitrary<ModelWindow | null> = fc.option(
  fc
    .record({
      days: fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
      startHour: fc.integer({ min: 0, max: 23 }),
      endHour: fc.integer({ min: 1, max: 24 }),
    })
    .filter(
      (window) => window.startHour !== window.endHour && !(window.startHour === 0 && window.endHour === 24),
    ),
  { freq: 3 },
);

function opArbitrary(version: number): fc.Arbitrary<ModelOp> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'pause' } as const) },
    { weight: 3, arbitrary: fc.constant({ kind: 'resume' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'cancel' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'sequencePause' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'sequenceResume' } as const) },
    { weight: 3, arbitrary: stepsArbitrary(version).map((steps) => ({ kind: 'edit', steps }) as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'skip' } as const) },
    { weight: 2, arbitrary: fc.nat({ max: 3 }).map((pick) => ({ kind: 'resend', pick }) as const) },
  );
}

export const caseArbitrary: fc.Arbitrary<GeneratedCase> = fc.record({
  startDelayHours: fc.integer({ min: 0, max: 60 * 24 }),
  steps: stepsArbitrary(0),
  window: windowArbitrary,
  sequenceZone: fc.constantFrom(...MODEL_ZONES),
  contactZone: fc.option(fc.constantFrom(...MODEL_ZONES)),
  // Each edit gets its own copy version, so a stale subject shows in a send.
  ops: fc
    .array(fc.integer({ min: 1, max: 72 }), { maxLength: 8 })
    .chain((gaps) =>
      fc
        .tuple(
          fc.tuple(...gaps.map((_, index) => opArbitrary(index + 1))),
          fc.shuffledSubarray(OP_MINUTES, { minLength: gaps.length, maxLength: gaps.length }),
        )
        .map(([ops, minutes]) =>
          ops.map((op, index) => ({ gapHours: gaps[index]!, minute: minutes[index]!, op })),
        ),
    ),
});

/** Absolute operation times from a start instant on a whole hour. */
export function opTimes(startMs: number, ops: RelativeOp[]): number[] {
  let hours = 0;
  return ops.map(({ gapHours, minute }) => {
    hours += gapHours;
    return startMs + hours * HOUR + minute * MINUTE;
  });
}
