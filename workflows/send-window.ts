// Pure time logic of Nudge (DESIGN.md §3 Time, T1 and T2; the time parts of S4).
//
// Imported by workflow code, so it must stay sandbox-safe: no Node built-ins, no I/O, no clock.
// Time zone rules come from the runtime's ICU data through luxon (verified to work inside the
// Temporal workflow sandbox, where Intl is available).
//
// Model. A send window is a set of weekdays plus a local wall-clock range. Each allowed local
// date D owns one window, the wall-clock range [D start, D end) — or [D start, D+1 end) when the
// window crosses midnight — evaluated in the contact's time zone. Mapped onto real time, each
// day's window is ONE half-open interval of instants [open, close):
//   - close is the first instant at which the wall clock reaches `end` (for an `end` inside a
//     spring-forward gap: the first instant after the gap);
//   - open is the start of the uninterrupted stretch of instants, ending at close, whose wall time
//     is inside the range. For a `start` inside a gap that is the first instant after the gap
//     (the day is never skipped); for a `start` inside a repeated fall-back hour it is the second
//     occurrence, and for an `end` inside it the window closes at the first occurrence. So a
//     repeated hour never yields two openings, and every instant of the window shows a wall time
//     inside the range.
//   - A day whose whole window lies inside a gap (02:00–03:00 on a spring-forward night, or the
//     day Pacific/Apia skipped in 2011) has no instant in the window: sending then would be outside
//     the window, so that day has no opening and the next allowed day is used.
// Days' windows never overlap and follow each other in date order.

import { DateTime, IANAZone } from 'luxon';

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export interface SendWindow {
  /** Local weekdays on which a window starts. */
  days: Weekday[];
  /** Local opening time 'HH:mm' (00:00–23:59). */
  start: string;
  /**
   * Local closing time 'HH:mm', exclusive; '24:00' is the end of the day. `end` earlier than
   * `start` means the window crosses midnight and belongs to the day it starts on (a Friday
   * 22:00–06:00 window runs Friday 22:00 to Saturday 06:00).
   */
  end: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The zone used when neither the contact's nor the sequence's zone is usable. */
export const FALLBACK_TIME_ZONE = 'UTC';

// IANA names use letters, digits, '/', '_', '-' and '+' (Etc/GMT+5). This rejects offset strings
// such as '+01:00', which Intl accepts but which are not IANA zones and carry no DST rules.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/** True for a time zone name the runtime knows (case-insensitive, links such as US/Eastern included). */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || !IANA_NAME.test(zone)) return false;
  let valid = knownZones.get(zone);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(zone);
    if (knownZones.size < KNOWN_ZONES_MAX) knownZones.set(zone, valid);
  }
  return valid;
}
// luxon checks a zone by building an Intl formatter, costly on every replay of every workflow;
// the answer for a name never changes, so it is remembered (a pure cache: replay-safe). The
// worker preloads this module once for all its workflows (worker/worker.ts), so the cache is
// shared by every workflow it runs. The bound keeps names sent to the API in every letter
// case from growing it without end.
const knownZones = new Map<string, boolean>();
const KNOWN_ZONES_MAX = 2_000;

/**
 * The zone a contact's send window is evaluated in: the contact's zone, else the sequence's, else
 * UTC. The name is kept as given, in its canonical letter case ('europe/paris' → 'Europe/Paris').
 */
export function resolveTimeZone(
  contactZone: string | null | undefined,
  sequenceZone: string | null | undefined,
): string {
  for (const zone of [contactZone, sequenceZone]) {
    if (typeof zone === 'string' && isValidTimeZone(zone)) return canonicalZone(zone);
  }
  return FALLBACK_TIME_ZONE;
}

// Only the letter case is fixed: ICU's canonical ids are often the retired names (Asia/Kolkata
// resolves to Asia/Calcutta), and the contact's own spelling is what people expect to see.
function canonicalZone(zone: string): string {
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
}

const START_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const END_TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const WINDOW_FIELDS = new Set(['days', 'start', 'end']);

/**
 * Problems with a send window, one human-readable sentence each, naming the field. An empty list
 * means `window` is a valid {@link SendWindow}.
 */
export function validateSendWindow(window: unknown): string[] {
  if (typeof window !== 'object' || window === null || Array.isArray(window)) {
    return ['sendWindow must be an object with days, start and end'];
  }
  const problems: string[] = [];
  const { days, start, end } = window as Record<string, unknown>;
  for (const key of Object.keys(window)) {
    if (!WINDOW_FIELDS.has(key)) {
      problems.push(`${key} is not a send window field (expected days, start, end)`);
    }
  }
  if (!Array.isArray(days)) {
    problems.push('days must be a list of ISO weekdays (1 = Monday … 7 = Sunday)');
  } else if (days.length === 0) {
    problems.push('days must contain at least one weekday (1 = Monday … 7 = Sunday)');
  } else {
    const bad = days.filter((d) => !(Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 7));
    if (bad.length > 0) {
      problems.push(
        `days must only contain ISO weekdays 1 (Monday) to 7 (Sunday); got ${JSON.stringify(bad)}`,
      );
    }
  }
  const startOk = typeof start === 'string' && START_TIME.test(start);
  const endOk = typeof end === 'string' && END_TIME.test(end);
  if (!startOk) {
    problems.push(`start must be a local time 'HH:mm' from 00:00 to 23:59; got ${JSON.stringify(start)}`);
  }
  if (!endOk) {
    problems.push(`end must be a local time 'HH:mm' from 00:00 to 24:00; got ${JSON.stringify(end)}`);
  }
  if (startOk && endOk && start === end) {
    problems.push(
      "start and end must differ (an end before the start crosses midnight; the whole day is '00:00'–'24:00')",
    );
  }
  return problems;
}

/** Type guard over {@link validateSendWindow}. */
export function isSendWindow(window: unknown): window is SendWindow {
  return validateSendWindow(window).length === 0;
}

/** True when a send at `instantMs` is allowed: always with no window, else inside one day's window. */
export function isInsideWindow(instantMs: number, window: SendWindow | null, zone: string): boolean {
  return nextSendTime(instantMs, window, zone) === instantMs;
}

/**
 * T1: the earliest instant at or after `dueMs` (epoch ms) that is inside the send window in `zone`.
 * A due time inside the window is returned unchanged (delays stay exact); otherwise the result is
 * the next window opening. `window` null means any time. See the module comment for DST (T2).
 */
export function nextSendTime(dueMs: number, window: SendWindow | null, zone: string): number {
  if (!Number.isFinite(dueMs)) {
    throw new RangeError(`dueMs must be a finite epoch milliseconds value; got ${dueMs}`);
  }
  if (window === null) return dueMs;
  const rule = compileWindow(window);
  const clock = new WallClock(zoneFor(zone));
  const firstDay = Math.floor(clock.wall(dueMs) / DAY) - 1; // yesterday's window may cross midnight
  // Every week has an allowed day; only a window lying entirely in a DST gap is ever empty.
  for (let day = firstDay; day <= firstDay + 8 * 7; day++) {
    if (!rule.days.has(isoWeekday(day))) continue;
    const opening = dayWindow(clock, rule, day);
    if (opening && opening.close > dueMs) return Math.max(opening.open, dueMs);
  }
  throw new Error(`no send window opening within 8 weeks of ${describeInstant(dueMs, zone)}`);
}

/**
 * S4: when a step that fell due at `dueMs` can go, given the current time: the next valid send time
 * from whichever is later (a step that fell due during a pause goes at the next window opening
 * from now). With `expiresAfterMs` (the step's end date, measured from its due time), a step that
 * cannot go before it expires is `expired` instead.
 */
export function planSend(args: {
  dueMs: number;
  nowMs: number;
  window: SendWindow | null;
  zone: string;
  expiresAfterMs?: number | null;
}): { kind: 'send'; atMs: number } | { kind: 'expired'; expiredAtMs: number } {
  const atMs = nextSendTime(Math.max(args.dueMs, args.nowMs), args.window, args.zone);
  if (args.expiresAfterMs != null && isExpired(args.dueMs, args.expiresAfterMs, atMs)) {
    return { kind: 'expired', expiredAtMs: args.dueMs + args.expiresAfterMs };
  }
  return { kind: 'send', atMs };
}

/** True when a step due at `dueMs` with an end date `expiresAfterMs` later has expired at `atMs`. */
export function isExpired(dueMs: number, expiresAfterMs: number | null | undefined, atMs: number): boolean {
  return expiresAfterMs != null && atMs >= dueMs + expiresAfterMs;
}

/** '2026-11-24 09:00 Europe/Paris': an instant as local wall time, for run details in the Temporal UI. */
export function describeInstant(instantMs: number, zone: string): string {
  const local = DateTime.fromMillis(instantMs, { zone: zoneFor(zone) });
  return `${local.toFormat('yyyy-MM-dd HH:mm')} ${local.zoneName ?? zone}`;
}

// ---------------------------------------------------------------------------------------------

interface CompiledWindow {
  days: Set<number>;
  startMin: number;
  /** Minutes after the start of the window's own day; above 1440 when crossing midnight. */
  endMin: number;
}

function compileWindow(window: SendWindow): CompiledWindow {
  const problems = validateSendWindow(window);
  if (problems.length > 0) throw new TypeError(`invalid send window: ${problems.join('; ')}`);
  const startMin = minuteOfDay(window.start);
  const end = minuteOfDay(window.end);
  return { days: new Set(window.days), startMin, endMin: end <= startMin ? end + 1440 : end };
}

function minuteOfDay(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** ISO weekday of a day number (days since 1970-01-01, a Thursday). */
function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

function zoneFor(zone: string): IANAZone {
  if (!isValidTimeZone(zone)) {
    throw new RangeError(`unknown time zone ${JSON.stringify(zone)}; resolve it with resolveTimeZone first`);
  }
  return IANAZone.create(zone);
}

/**
 * The window of local day `day` as instants [open, close), or null when none of its wall-clock
 * range exists that day. Wall times are "local epoch" milliseconds (instant + UTC offset).
 */
function dayWindow(
  clock: WallClock,
  rule: CompiledWindow,
  day: number,
): { open: number; close: number } | null {
  const wallStart = day * DAY + rule.startMin * MINUTE;
  const wallEnd = day * DAY + rule.endMin * MINUTE;
  // Offsets stay within ±26 h, so this range holds every instant showing a wall time of the window.
  const segments = clock.segments(wallStart - 26 * HOUR, wallEnd + 26 * HOUR);

  let close = Infinity;
  for (const s of segments) {
    const reach = Math.max(s.from, wallEnd - s.offset);
    if (reach < s.to) {
      close = reach;
      break;
    }
  }
  // Walk back from close through consecutive segments whose wall time stays inside the range.
  let open = close;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    if (s.from >= open) continue;
    const inFrom = Math.max(s.from, wallStart - s.offset);
    if (inFrom >= open) break; // wall time just before `open` is below the range
    open = inFrom;
    if (inFrom > s.from) break; // entered the range inside this segment
  }
  return open < close ? { open, close } : null;
}

interface Segment {
  from: number;
  to: number;
  /** UTC offset in ms, constant over [from, to). */
  offset: number;
}

// Offsets are sampled on a fixed grid and transitions located by bisection. This needs no two
// transitions within one grid step that cancel out; tzdata's closest transitions since 1995 are a
// week apart.
const GRID = 6 * HOUR;

/** A zone's offsets over time, memoised for one computation. */
class WallClock {
  private readonly offsets = new Map<number, number>();
  private readonly zone: IANAZone;

  constructor(zone: IANAZone) {
    this.zone = zone;
  }

  offsetAt(instantMs: number): number {
    const second = Math.floor(instantMs / SECOND) * SECOND; // offsets change on whole seconds
    let offset = this.offsets.get(second);
    if (offset === undefined) {
      offset = Math.round(this.zone.offset(second) * MINUTE);
      this.offsets.set(second, offset);
    }
    return offset;
  }

  wall(instantMs: number): number {
    return instantMs + this.offsetAt(instantMs);
  }

  /** Constant-offset segments covering [fromMs, toMs], in order. */
  segments(fromMs: number, toMs: number): Segment[] {
    let at = Math.floor(fromMs / GRID) * GRID;
    let offset = this.offsetAt(at);
    const segments: Segment[] = [{ from: at, to: at, offset }];
    while (at < toMs) {
      const next = at + GRID;
      const nextOffset = this.offsetAt(next);
      // Walk every change between the two grid points (more than one only in odd historic data).
      while (this.offsetAt(at) !== nextOffset) {
        const change = this.firstChange(at, next);
        segments[segments.length - 1]!.to = change;
        offset = this.offsetAt(change);
        segments.push({ from: change, to: change, offset });
        at = change;
      }
      at = next;
      segments[segments.length - 1]!.to = at;
    }
    return segments;
  }

  /** The first whole second in (fromMs, toMs] whose offset differs from the one at fromMs. */
  private firstChange(fromMs: number, toMs: number): number {
    const before = this.offsetAt(fromMs);
    let lo = fromMs / SECOND;
    let hi = toMs / SECOND;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.offsetAt(mid * SECOND) === before) lo = mid;
      else hi = mid;
    }
    return hi * SECOND;
  }
}
