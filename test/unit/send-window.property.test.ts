// Property tests for T1/T2 over many IANA zones and instants around real DST transitions.
// The oracles read local wall time straight from Intl (not luxon, not the module's segment logic)
// and scan minute by minute, so they check the implementation rather than restate it.
import fc from 'fast-check';
import { IANAZone } from 'luxon';
import { isInsideWindow, nextSendTime, type SendWindow, type Weekday } from '../../workflows/send-window.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FROM = Date.UTC(2020, 0, 1);
const TO = Date.UTC(2031, 0, 1);

// Zones with unusual rules, then an even sample of everything the runtime knows.
const NAMED_ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute DST
  'Asia/Kolkata', // no DST, +05:30
  'Pacific/Apia', // skipped 2011-12-30; DST until 2021
  'America/Santiago', // transitions at midnight
  'UTC',
  'America/Havana', // transitions at 00:00 and 01:00
  'Africa/Cairo', // DST reinstated in 2023, midnight transitions
  'Asia/Beirut',
  'America/Asuncion',
  'Asia/Gaza',
  'Africa/Casablanca', // DST suspended during Ramadan: two extra transitions a year
  'Asia/Tehran', // DST abolished in 2022
  'Pacific/Chatham', // +12:45 / +13:45
  'Antarctica/Troll', // two-hour DST
  'America/St_Johns',
  'America/Nuuk',
  'Pacific/Easter', // transitions at 22:00 local
  'Pacific/Norfolk',
  'America/Mexico_City', // DST abolished in 2022
  'Europe/Dublin', // "negative DST" in tzdata
  'Australia/Adelaide',
];
const ALL_ZONES = Intl.supportedValuesOf('timeZone');
const SAMPLED_ZONES = ALL_ZONES.filter((_, i) => i % 14 === 0);
const ZONES = [...new Set([...NAMED_ZONES, ...SAMPLED_ZONES])];

/** Offset transitions of `zone` in [from, to), found by scanning luxon offsets and bisecting. */
function transitions(zone: string, from: number, to: number): number[] {
  const z = IANAZone.create(zone);
  const found: number[] = [];
  const step = 3 * DAY; // tzdata has no two transitions within a few days in this period
  for (let a = from; a < to; a += step) {
    const b = a + step;
    if (z.offset(a) === z.offset(b)) continue;
    let lo = a / MINUTE;
    let hi = b / MINUTE;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (z.offset(mid * MINUTE) === z.offset(a)) lo = mid;
      else hi = mid;
    }
    found.push(hi * MINUTE);
  }
  return found;
}

const TRANSITIONS = new Map(ZONES.map((zone) => [zone, transitions(zone, FROM, TO)]));
TRANSITIONS.get('Pacific/Apia')!.push(
  ...transitions('Pacific/Apia', Date.UTC(2011, 8, 1), Date.UTC(2012, 4, 1)),
);

// ------------------------------------------------------------------- independent wall clock

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local wall time of an instant as minutes since 1970-01-01T00:00 local, read from Intl. */
function wallMinutes(zone: string, instant: number): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(zone, format);
  }
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute) / MINUTE;
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** The local day's wall-clock range of the window as [start, end) in wall minutes. */
function wallRange(window: SendWindow, day: number): { start: number; end: number } {
  const start = minutes(window.start);
  const end = minutes(window.end);
  return { start: day * 1440 + start, end: day * 1440 + (end > start ? end : end + 1440) };
}

/** The allowed local day whose window contains wall time `wall`, if any. */
function windowDayOfWall(window: SendWindow, wall: number): number | undefined {
  const today = Math.floor(wall / 1440);
  for (const day of [today - 1, today]) {
    const weekday = new Date(day * DAY).getUTCDay() || 7;
    const range = wallRange(window, day);
    if (window.days.includes(weekday as Weekday) && wall >= range.start && wall < range.end) return day;
  }
  return undefined;
}

/**
 * Brute-force oracle for T1/T2: the first instant at or after `due` inside the window, scanning
 * minute by minute for `horizon`, or undefined when there is none in that span. A minute is inside
 * when its wall time is in an allowed day's range and it belongs to that day's one opening: the
 * wall clock has not yet reached the day's end (no reopening after a repeated hour), and from
 * this minute it reaches the end without dipping back below the start (no opening before one).
 */
function oracleFirstSend(due: number, window: SendWindow, zone: string, horizon: number): number | undefined {
  const first = Math.floor(due / MINUTE) * MINUTE;
  const lookBack = 26 * HOUR;
  const lookAhead = 26 * HOUR;
  const walls: number[] = [];
  const prefixMax: number[] = [];
  for (let t = first - lookBack; t <= first + horizon + lookAhead; t += MINUTE) {
    const wall = wallMinutes(zone, t);
    walls.push(wall);
    prefixMax.push(Math.max(wall, prefixMax.at(-1) ?? -Infinity));
  }
  const base = lookBack / MINUTE;
  for (let i = base; i <= base + horizon / MINUTE; i++) {
    const day = windowDayOfWall(window, walls[i]!);
    if (day === undefined) continue;
    const { start, end } = wallRange(window, day);
    if (prefixMax[i]! >= end) continue; // the day's window already closed; this is a repeat
    let j = i + 1;
    while (j < walls.length && walls[j]! >= start && walls[j]! < end) j++;
    if (j === walls.length) throw new Error('oracle scan too short');
    if (walls[j]! < start) continue; // the clock falls back below the start before closing
    const instant = first + (i - base) * MINUTE;
    return Math.max(instant, due);
  }
  return undefined;
}

/** Whether `instant` shows a wall time inside an allowed day's range (the plain T2 guarantee). */
function wallTimeInside(instant: number, window: SendWindow, zone: string): boolean {
  return windowDayOfWall(window, wallMinutes(zone, instant)) !== undefined;
}

// --------------------------------------------------------------------------------- generators

const hhmm = (m: number): string =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
// Times near which transitions happen, plus office hours, plus anything.
const INTERESTING = [
  0, 15, 30, 45, 60, 90, 105, 120, 135, 150, 180, 210, 225, 240, 1260, 1320, 1350, 1380, 540, 1020,
];
const minuteArb = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 1439 }));

const daysArb = fc.subarray([1, 2, 3, 4, 5, 6, 7] as Weekday[], { minLength: 1 });

function windowArbFrom(minute: fc.Arbitrary<number>): fc.Arbitrary<SendWindow> {
  return fc
    .record({ days: daysArb, start: minute, end: fc.oneof(minute, fc.constant(1440)) })
    .filter(({ start, end }) => start !== end)
    .map(({ days, start, end }) => ({ days, start: hhmm(start), end: hhmm(end) }));
}

/** Local minutes of day just before and at a transition, and a little around them. */
function edgesAround(zone: string, transition: number): number[] {
  const edges = new Set<number>();
  for (const wall of [wallMinutes(zone, transition - MINUTE) + 1, wallMinutes(zone, transition)]) {
    for (const delta of [-60, -30, -15, -1, 0, 1, 15, 30, 60])
      edges.add((((wall + delta) % 1440) + 1440) % 1440);
  }
  return [...edges];
}

interface Case {
  zone: string;
  due: number;
  window: SendWindow;
}

/**
 * A zone, a due time and a window: either uniform over 2020–2030 with any window, or around one of
 * the zone's transitions with the window's edges placed near the transition's local times.
 */
const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...ZONES).chain((zone) => {
  const uniform = fc.record({
    zone: fc.constant(zone),
    due: fc.integer({ min: FROM, max: TO }),
    window: windowArbFrom(minuteArb),
  });
  const near = TRANSITIONS.get(zone)!;
  if (near.length === 0) return uniform;
  const aroundTransition = fc.constantFrom(...near).chain((transition) =>
    fc.record({
      zone: fc.constant(zone),
      due: fc.oneof(
        fc.integer({ min: transition - 36 * HOUR, max: transition + 36 * HOUR }),
        fc.integer({ min: -180, max: 180 }).map((m) => transition + m * MINUTE), // on minute boundaries
      ),
      window: windowArbFrom(fc.oneof(fc.constantFrom(...edgesAround(zone, transition)), minuteArb)),
    }),
  );
  return fc.oneof(uniform, aroundTransition, aroundTransition);
});

// ------------------------------------------------------------------------------------- tests

describe('T1/T2 properties over many zones and DST transitions', () => {
  it('samples enough zones and transitions', () => {
    expect(ZONES.length).toBeGreaterThanOrEqual(40);
    for (const zone of NAMED_ZONES) expect(IANAZone.isValidZone(zone)).toBe(true);
    expect(TRANSITIONS.get('Europe/Paris')!.length).toBe(22); // two a year, 2020–2030
    expect(TRANSITIONS.get('Pacific/Apia')).toContain(Date.UTC(2011, 11, 30, 10));
  });

  it('T1/T2: the send time is at or after the due time, inside the window by local wall time, and stable', () => {
    fc.assert(
      fc.property(caseArb, ({ zone, due, window }) => {
        const sendAt = nextSendTime(due, window, zone);
        expect(sendAt).toBeGreaterThanOrEqual(due);
        expect(wallTimeInside(sendAt, window, zone)).toBe(true);
        expect(isInsideWindow(sendAt, window, zone)).toBe(true);
        expect(nextSendTime(sendAt, window, zone)).toBe(sendAt); // idempotent
        // T1: a due time inside the window is kept exactly.
        if (isInsideWindow(due, window, zone)) expect(sendAt).toBe(due);
      }),
      { numRuns: 2500 },
    );
  }, 60_000);

  it('T1/T2: a later due time never yields an earlier send time (monotonic)', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 48 * HOUR }), ({ zone, due, window }, delta) => {
        expect(nextSendTime(due + delta, window, zone)).toBeGreaterThanOrEqual(
          nextSendTime(due, window, zone),
        );
      }),
      { numRuns: 1500 },
    );
  }, 60_000);

  it('T1/T2: the send time is the earliest instant in the window — no allowed day is skipped, no second opening is used', () => {
    const horizon = 30 * HOUR;
    fc.assert(
      fc.property(caseArb, ({ zone, due, window }) => {
        const sendAt = nextSendTime(due, window, zone);
        const expected = oracleFirstSend(due, window, zone, horizon);
        if (expected === undefined) expect(sendAt).toBeGreaterThan(due + horizon - MINUTE);
        else expect(sendAt).toBe(expected);
      }),
      { numRuns: 250 },
    );
  }, 60_000);
});
