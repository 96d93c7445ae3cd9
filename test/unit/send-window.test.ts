import {
  describeInstant,
  isExpired,
  isInsideWindow,
  isSendWindow,
  isValidTimeZone,
  nextSendTime,
  planSend,
  resolveTimeZone,
  validateSendWindow,
  type SendWindow,
  type Weekday,
} from '../../workflows/send-window.js';

// Instants are written as local time with the offset in force, so each case reads as a wall clock.
const at = (iso: string): number => Date.parse(iso);
const everyDay: Weekday[] = [1, 2, 3, 4, 5, 6, 7];
const weekdays: Weekday[] = [1, 2, 3, 4, 5];
const officeHours: SendWindow = { days: weekdays, start: '09:00', end: '17:00' };
const daily = (start: string, end: string): SendWindow => ({ days: everyDay, start, end });

describe('T1: next valid send time', () => {
  it('T1: a due time inside the window is sent exactly on time', () => {
    const due = at('2026-11-24T10:17:23.456+01:00'); // a Tuesday
    expect(nextSendTime(due, officeHours, 'Europe/Paris')).toBe(due);
  });

  it('T1: with no send window a step is sent exactly when due', () => {
    const due = at('2026-11-28T03:07:00+01:00'); // Saturday night
    expect(nextSendTime(due, null, 'Europe/Paris')).toBe(due);
    expect(isInsideWindow(due, null, 'Europe/Paris')).toBe(true);
  });

  it('T1: a due time before the opening waits for the opening the same day', () => {
    expect(nextSendTime(at('2026-11-24T07:40:00+01:00'), officeHours, 'Europe/Paris')).toBe(
      at('2026-11-24T09:00:00+01:00'),
    );
  });

  it('T1: the opening minute is inside the window and the closing minute is not (end is exclusive)', () => {
    expect(isInsideWindow(at('2026-11-24T09:00:00+01:00'), officeHours, 'Europe/Paris')).toBe(true);
    expect(isInsideWindow(at('2026-11-24T16:59:59.999+01:00'), officeHours, 'Europe/Paris')).toBe(true);
    expect(isInsideWindow(at('2026-11-24T17:00:00+01:00'), officeHours, 'Europe/Paris')).toBe(false);
    expect(nextSendTime(at('2026-11-24T17:00:00+01:00'), officeHours, 'Europe/Paris')).toBe(
      at('2026-11-25T09:00:00+01:00'),
    );
  });

  it('T1: a step due on Friday evening goes at Monday’s opening', () => {
    expect(nextSendTime(at('2026-11-27T18:30:00+01:00'), officeHours, 'Europe/Paris')).toBe(
      at('2026-11-30T09:00:00+01:00'),
    );
  });

  it('T1: the window is evaluated in the given zone, not in UTC', () => {
    // 08:30 UTC on Monday is already 14:00 in Kolkata (UTC+05:30, no DST).
    const due = at('2026-11-23T08:30:00Z');
    expect(nextSendTime(due, officeHours, 'Asia/Kolkata')).toBe(due);
    // Saturday in Kolkata: Monday 09:00 IST is 03:30 UTC.
    expect(nextSendTime(at('2026-11-28T12:00:00+05:30'), officeHours, 'Asia/Kolkata')).toBe(
      at('2026-11-30T03:30:00Z'),
    );
  });

  it('T1: weekdays are the local weekday, even when UTC is already on the next day', () => {
    // Friday 20:00 in New York is Saturday 01:00 UTC; a Friday-only window is still open.
    const window: SendWindow = { days: [5], start: '18:00', end: '22:00' };
    const due = at('2026-11-27T20:00:00-05:00');
    expect(nextSendTime(due, window, 'America/New_York')).toBe(due);
    expect(nextSendTime(due, window, 'UTC')).toBe(at('2026-12-04T18:00:00Z'));
  });

  it('T1: a window crossing midnight belongs to the day it starts on', () => {
    const fridayNight: SendWindow = { days: [5], start: '22:00', end: '06:00' };
    // Saturday 03:00 is inside Friday's window...
    expect(isInsideWindow(at('2026-11-28T03:00:00Z'), fridayNight, 'UTC')).toBe(true);
    // ...but Saturday 23:00 is not (Saturday is not an allowed day), nor is Friday 03:00.
    expect(isInsideWindow(at('2026-11-28T23:00:00Z'), fridayNight, 'UTC')).toBe(false);
    expect(nextSendTime(at('2026-11-27T03:00:00Z'), fridayNight, 'UTC')).toBe(at('2026-11-27T22:00:00Z'));
    expect(nextSendTime(at('2026-11-28T06:00:00Z'), fridayNight, 'UTC')).toBe(at('2026-12-04T22:00:00Z'));
  });

  it("T1: '00:00'–'24:00' is the whole day", () => {
    const weekends: SendWindow = { days: [6, 7], start: '00:00', end: '24:00' };
    expect(isInsideWindow(at('2026-11-29T23:59:59.999Z'), weekends, 'UTC')).toBe(true);
    expect(nextSendTime(at('2026-11-30T00:00:00Z'), weekends, 'UTC')).toBe(at('2026-12-05T00:00:00Z'));
  });

  it('T1: the whole-week answer does not drift across a DST change (America/New_York)', () => {
    // Friday before the March 2026 change in EST; Monday's opening is 09:00 EDT, i.e. 13:00 UTC.
    expect(nextSendTime(at('2026-03-06T18:00:00-05:00'), officeHours, 'America/New_York')).toBe(
      at('2026-03-09T09:00:00-04:00'),
    );
  });
});

describe('T2: daylight-saving gaps', () => {
  it('T2: spring-forward gap in Europe/Paris opens at 03:00, not the next day', () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    const window = daily('02:30', '09:00');
    expect(nextSendTime(at('2026-03-29T00:00:00+01:00'), window, 'Europe/Paris')).toBe(
      at('2026-03-29T03:00:00+02:00'),
    );
    expect(isInsideWindow(at('2026-03-29T01:59:00+01:00'), window, 'Europe/Paris')).toBe(false);
  });

  it('T2: a window ending inside the gap closes when the gap ends (Europe/Paris)', () => {
    const window = daily('00:00', '02:30');
    expect(isInsideWindow(at('2026-03-29T01:59:59+01:00'), window, 'Europe/Paris')).toBe(true);
    expect(isInsideWindow(at('2026-03-29T03:00:00+02:00'), window, 'Europe/Paris')).toBe(false);
    expect(nextSendTime(at('2026-03-29T03:00:00+02:00'), window, 'Europe/Paris')).toBe(
      at('2026-03-30T00:00:00+02:00'),
    );
  });

  it('T2: a window lying entirely inside the gap has no instant that day, so nothing is sent outside it', () => {
    // 02:00–03:00 does not exist on 2026-03-29 in Paris: the next opening is Monday 02:00.
    const window = daily('02:00', '03:00');
    expect(nextSendTime(at('2026-03-28T12:00:00+01:00'), window, 'Europe/Paris')).toBe(
      at('2026-03-30T02:00:00+02:00'),
    );
  });

  it('T2: America/New_York spring-forward: a 02:00 opening becomes 03:00 EDT the same day', () => {
    const sundays: SendWindow = { days: [7], start: '02:00', end: '05:00' };
    expect(nextSendTime(at('2026-03-07T12:00:00-05:00'), sundays, 'America/New_York')).toBe(
      at('2026-03-08T03:00:00-04:00'),
    );
  });

  it('T2: Australia/Lord_Howe 30-minute spring-forward: 02:15 opens at 02:30', () => {
    // 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11:00).
    const window = daily('02:15', '08:00');
    expect(nextSendTime(at('2026-10-04T00:00:00+10:30'), window, 'Australia/Lord_Howe')).toBe(
      at('2026-10-04T02:30:00+11:00'),
    );
  });

  it('T2: America/Santiago springs forward at midnight: a Sunday 00:30 opening becomes 01:00', () => {
    // 2026-09-06: Saturday 24:00 (-04) jumps to Sunday 01:00 (-03).
    const sundays: SendWindow = { days: [7], start: '00:30', end: '08:00' };
    expect(nextSendTime(at('2026-09-05T20:00:00-04:00'), sundays, 'America/Santiago')).toBe(
      at('2026-09-06T01:00:00-03:00'),
    );
  });

  it('T2: Pacific/Apia skipped 2011-12-30 entirely: a Friday-only window waits for the next Friday', () => {
    // Thursday 23:59:59 (-10) was followed by Saturday 00:00 (+14); no Friday instant exists.
    const fridays: SendWindow = { days: [5], start: '09:00', end: '17:00' };
    expect(nextSendTime(at('2011-12-29T12:00:00-10:00'), fridays, 'Pacific/Apia')).toBe(
      at('2012-01-06T09:00:00+14:00'),
    );
    const thuToSat: SendWindow = { days: [4, 5, 6], start: '09:00', end: '17:00' };
    expect(nextSendTime(at('2011-12-29T18:00:00-10:00'), thuToSat, 'Pacific/Apia')).toBe(
      at('2011-12-31T09:00:00+14:00'),
    );
  });

  it('T2: Pacific/Apia: a Thursday night window closes when the clock jumps to Saturday', () => {
    const thursdayNights: SendWindow = { days: [4], start: '22:00', end: '06:00' };
    const lastThursdayMinute = at('2011-12-29T23:59:00-10:00');
    expect(isInsideWindow(lastThursdayMinute, thursdayNights, 'Pacific/Apia')).toBe(true);
    expect(isInsideWindow(at('2011-12-31T00:00:00+14:00'), thursdayNights, 'Pacific/Apia')).toBe(false);
  });
});

describe('T2: daylight-saving overlaps (repeated hour)', () => {
  // 2026-10-25 in Paris: 03:00 CEST falls back to 02:00 CET, so 02:00–03:00 happens twice.
  it('T2: an opening inside the repeated hour opens once, at its second occurrence (Europe/Paris)', () => {
    const window = daily('02:30', '09:00');
    const opening = at('2026-10-25T02:30:00+01:00');
    expect(nextSendTime(at('2026-10-25T00:00:00+02:00'), window, 'Europe/Paris')).toBe(opening);
    // The first 02:45 (CEST) is followed by a 02:15 (CET) outside the window; opening there would
    // mean two openings and a send outside the window.
    expect(isInsideWindow(at('2026-10-25T02:45:00+02:00'), window, 'Europe/Paris')).toBe(false);
    expect(isInsideWindow(at('2026-10-25T02:15:00+01:00'), window, 'Europe/Paris')).toBe(false);
    expect(nextSendTime(at('2026-10-25T02:45:00+02:00'), window, 'Europe/Paris')).toBe(opening);
  });

  it('T2: a closing inside the repeated hour closes at its first occurrence and does not reopen (Europe/Paris)', () => {
    const window = daily('00:00', '02:30');
    expect(isInsideWindow(at('2026-10-25T02:15:00+02:00'), window, 'Europe/Paris')).toBe(true);
    expect(isInsideWindow(at('2026-10-25T02:15:00+01:00'), window, 'Europe/Paris')).toBe(false);
    expect(nextSendTime(at('2026-10-25T02:30:00+02:00'), window, 'Europe/Paris')).toBe(
      at('2026-10-26T00:00:00+01:00'),
    );
  });

  it('T2: a window spanning the repeated hour stays open through it (America/New_York)', () => {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    const window: SendWindow = { days: [7], start: '00:30', end: '03:00' };
    for (const instant of [
      '2026-11-01T01:30:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T02:59:00-05:00',
    ]) {
      expect(isInsideWindow(at(instant), window, 'America/New_York')).toBe(true);
    }
    expect(isInsideWindow(at('2026-11-01T03:00:00-05:00'), window, 'America/New_York')).toBe(false);
  });

  it('T2: Australia/Lord_Howe 30-minute fall-back: 01:45 opens once, at the second 01:45', () => {
    // 2026-04-05: 02:00 (+11:00) falls back to 01:30 (+10:30).
    const window = daily('01:45', '07:00');
    expect(nextSendTime(at('2026-04-05T00:00:00+11:00'), window, 'Australia/Lord_Howe')).toBe(
      at('2026-04-05T01:45:00+10:30'),
    );
  });

  it('T2: America/Santiago falls back at midnight: a Saturday night window opens once', () => {
    // 2026-04-05: Sunday 00:00 (-03) falls back to Saturday 23:00 (-04).
    const saturdayNights: SendWindow = { days: [6], start: '23:30', end: '01:00' };
    expect(nextSendTime(at('2026-04-04T20:00:00-03:00'), saturdayNights, 'America/Santiago')).toBe(
      at('2026-04-04T23:30:00-04:00'),
    );
    expect(isInsideWindow(at('2026-04-04T23:45:00-03:00'), saturdayNights, 'America/Santiago')).toBe(false);
    expect(isInsideWindow(at('2026-04-05T00:59:00-04:00'), saturdayNights, 'America/Santiago')).toBe(true);
    expect(isInsideWindow(at('2026-04-05T01:00:00-04:00'), saturdayNights, 'America/Santiago')).toBe(false);
  });

  it('T2: a step due after a fall-back send is not sent again in the repeated hour', () => {
    // Sent at the first 01:10 EDT; the next step is due 10 minutes later but the window closed at 01:20.
    const window: SendWindow = { days: [7], start: '00:00', end: '01:20' };
    const firstSend = nextSendTime(at('2026-11-01T01:10:00-04:00'), window, 'America/New_York');
    expect(firstSend).toBe(at('2026-11-01T01:10:00-04:00'));
    expect(nextSendTime(firstSend + 10 * 60_000, window, 'America/New_York')).toBe(
      at('2026-11-08T00:00:00-05:00'),
    );
  });
});

describe('time zones', () => {
  it('contact zone wins, then the sequence zone, then UTC', () => {
    expect(resolveTimeZone('Asia/Kolkata', 'Europe/Paris')).toBe('Asia/Kolkata');
    expect(resolveTimeZone(null, 'Europe/Paris')).toBe('Europe/Paris');
    expect(resolveTimeZone('Mars/Olympus_Mons', 'America/Santiago')).toBe('America/Santiago');
    expect(resolveTimeZone(undefined, 'not a zone')).toBe('UTC');
    expect(resolveTimeZone('', '')).toBe('UTC');
  });

  it('zone names are canonicalised; UTC offsets are not IANA zones', () => {
    expect(resolveTimeZone('europe/paris', null)).toBe('Europe/Paris');
    // ICU's canonical id for Asia/Kolkata is the retired Asia/Calcutta; the given name is kept.
    expect(resolveTimeZone('Asia/Kolkata', null)).toBe('Asia/Kolkata');
    expect(isValidTimeZone('Australia/Lord_Howe')).toBe(true);
    expect(isValidTimeZone('Etc/GMT+5')).toBe(true);
    expect(isValidTimeZone('+01:00')).toBe(false);
    expect(isValidTimeZone(' Europe/Paris')).toBe(false);
    expect(resolveTimeZone('+05:30', null)).toBe('UTC');
  });

  it('an unresolved zone is refused rather than silently read as UTC', () => {
    expect(() => nextSendTime(0, officeHours, 'Mars/Olympus_Mons')).toThrow(/resolveTimeZone/);
  });

  it('describes an instant as local wall time for the Temporal UI', () => {
    expect(describeInstant(at('2026-11-24T08:00:00Z'), 'Europe/Paris')).toBe('2026-11-24 09:00 Europe/Paris');
    expect(describeInstant(at('2026-11-24T08:00:00Z'), 'Australia/Lord_Howe')).toBe(
      '2026-11-24 19:00 Australia/Lord_Howe',
    );
  });
});

describe('send window validation', () => {
  it('accepts a valid window', () => {
    expect(validateSendWindow(officeHours)).toEqual([]);
    expect(validateSendWindow({ days: [6], start: '22:00', end: '06:00' })).toEqual([]);
    expect(validateSendWindow({ days: [7], start: '00:00', end: '24:00' })).toEqual([]);
    expect(isSendWindow(officeHours)).toBe(true);
  });

  it('refuses empty days and start equal to end, naming the field', () => {
    expect(validateSendWindow({ days: [], start: '09:00', end: '17:00' })).toEqual([
      expect.stringMatching(/^days .*at least one/),
    ]);
    expect(validateSendWindow({ days: [1], start: '09:00', end: '09:00' })).toEqual([
      expect.stringMatching(/^start and end must differ/),
    ]);
    expect(validateSendWindow({ days: [1], start: '00:00', end: '00:00' })).toHaveLength(1);
  });

  it('refuses malformed days and times', () => {
    expect(validateSendWindow({ days: [0, 8, 1.5, '1'], start: '9:00', end: '24:01' })).toEqual([
      expect.stringMatching(/^days must only contain .*\[0,8,1\.5,"1"\]/),
      expect.stringMatching(/^start must be .*"9:00"/),
      expect.stringMatching(/^end must be .*"24:01"/),
    ]);
    expect(validateSendWindow({ days: [1], start: '24:00', end: '06:00' })).toEqual([
      expect.stringMatching(/^start must be/),
    ]);
    expect(validateSendWindow({ days: [1], start: '09:00', end: '17:00', tz: 'Europe/Paris' })).toEqual([
      expect.stringMatching(/^tz is not a send window field/),
    ]);
    expect(validateSendWindow(null)).toHaveLength(1);
    expect(validateSendWindow([1, 2])).toHaveLength(1);
  });

  it('nextSendTime refuses an invalid window instead of guessing', () => {
    expect(() => nextSendTime(0, { days: [], start: '09:00', end: '17:00' }, 'UTC')).toThrow(/days/);
  });
});

describe('S4: steps that fell due during a pause, and end dates', () => {
  const day = 24 * 3_600_000;

  it('S4: a step that fell due during the pause goes at the next window opening after the resume', () => {
    const due = at('2026-11-24T10:00:00+01:00');
    const resumedAt = at('2026-11-27T19:00:00+01:00'); // Friday evening, window closed
    expect(planSend({ dueMs: due, nowMs: resumedAt, window: officeHours, zone: 'Europe/Paris' })).toEqual({
      kind: 'send',
      atMs: at('2026-11-30T09:00:00+01:00'),
    });
  });

  it('S4: a step resumed inside the window goes immediately; one not yet due keeps its due time', () => {
    const due = at('2026-11-24T10:00:00+01:00');
    const resumedAt = at('2026-11-25T11:11:00+01:00');
    expect(planSend({ dueMs: due, nowMs: resumedAt, window: officeHours, zone: 'Europe/Paris' })).toEqual({
      kind: 'send',
      atMs: resumedAt,
    });
    expect(planSend({ dueMs: due, nowMs: due - day, window: officeHours, zone: 'Europe/Paris' })).toEqual({
      kind: 'send',
      atMs: due,
    });
  });

  it('S4: a step whose end date passed during the pause is expired', () => {
    const due = at('2026-11-24T10:00:00+01:00');
    const plan = planSend({
      dueMs: due,
      nowMs: due + 3 * day,
      window: officeHours,
      zone: 'Europe/Paris',
      expiresAfterMs: 2 * day,
    });
    expect(plan).toEqual({ kind: 'expired', expiredAtMs: due + 2 * day });
  });

  it('S4: a step whose next window opening is at or after its end date is expired', () => {
    // Due Friday 18:00, expires after 1 day: Monday 09:00 is too late.
    const due = at('2026-11-27T18:00:00+01:00');
    expect(
      planSend({ dueMs: due, nowMs: due, window: officeHours, zone: 'Europe/Paris', expiresAfterMs: day }),
    ).toEqual({ kind: 'expired', expiredAtMs: due + day });
    expect(isExpired(due, day, due + day - 1)).toBe(false);
    expect(isExpired(due, day, due + day)).toBe(true);
    expect(isExpired(due, null, due + 365 * day)).toBe(false);
  });
});
