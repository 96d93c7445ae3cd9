/**
 * The reference model's send window (T1, T2), by brute force rather than by the production
 * algorithm (workflows/send-window.ts): an instant is inside when its local wall time, in the
 * zone, falls in the window of an allowed day; the earliest valid send time is found by
 * trying instants one by one.
 *
 * Candidates are the due time itself, then each following whole UTC hour. That is exact for
 * the windows and zones the model test generates: windows open and close on whole local hours
 * and the zones' offsets (and their daylight-saving shifts) are whole hours, so every window
 * opening falls on a whole UTC hour.
 */
import { DateTime } from 'luxon';

export interface ModelWindow {
  /** ISO weekdays (1 = Monday) on which a window starts. */
  days: number[];
  startHour: number;
  /** Exclusive; 24 is midnight; below `startHour` the window runs past midnight. */
  endHour: number;
}

const HOUR = 60 * 60 * 1000;
const LIMIT = 8 * 7 * 24; // hours tried before giving up (every week has an allowed day)

export function isInside(instantMs: number, window: ModelWindow, zone: string): boolean {
  const local = DateTime.fromMillis(instantMs, { zone });
  const hour = local.hour + local.minute / 60 + local.second / 3600 + local.millisecond / 3_600_000;
  const today = window.days.includes(local.weekday);
  const yesterday = window.days.includes(local.minus({ days: 1 }).weekday);
  if (window.startHour < window.endHour) return today && hour >= window.startHour && hour < window.endHour;
  // Past midnight: the evening belongs to today's window, the small hours to yesterday's.
  return (today && hour >= window.startHour) || (yesterday && hour < window.endHour);
}

/** The earliest instant at or after `dueMs` inside the window (any instant without one). */
export function earliestSendTime(dueMs: number, window: ModelWindow | null, zone: string): number {
  if (!window || isInside(dueMs, window, zone)) return dueMs;
  let candidate = Math.ceil(dueMs / HOUR) * HOUR;
  for (let tried = 0; tried < LIMIT; tried++, candidate += HOUR) {
    if (isInside(candidate, window, zone)) return candidate;
  }
  throw new Error(`no window opening within 8 weeks of ${new Date(dueMs).toISOString()}`);
}
