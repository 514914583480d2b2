// Deploy windows (sync.windows): "Mon-Fri 08:00-16:00", "Sat,Sun 10:00-12:00", "22:00-02:00".
// Pure, over wall-clock time in a time zone: a window is open when the clock on the wall says so,
// so daylight-saving changes need no special case (an hour skipped in spring is skipped by the
// window too; an hour repeated in autumn is in it twice), and a clock that jumps is simply read
// again by the next run. A window that ends at or before it starts crosses midnight and belongs to
// the day it starts on.

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

export interface DeployWindow {
  spec: string;
  /** 0 = Sunday */
  days: Set<number>;
  /** minutes since midnight; `to` may be 1440 (24:00) */
  from: number;
  to: number;
}

function day(name: string, spec: string): number {
  const i = DAYS.indexOf(name.slice(0, 3).toLowerCase() as (typeof DAYS)[number]);
  if (i < 0 || name.length < 3) throw new Error(`deploy window "${spec}": "${name}" is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`);
  return i;
}

function minutes(hhmm: string, spec: string, end: boolean): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  const value = m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  if (!m || Number(m[2]) > 59 || value > (end ? 1440 : 1439)) throw new Error(`deploy window "${spec}": "${hhmm}" is not a time (HH:MM, 00:00 to ${end ? "24:00" : "23:59"})`);
  return value;
}

/** "[DAYS ]HH:MM-HH:MM", DAYS a comma list of days and day ranges (Fri-Mon wraps); without DAYS, every day. */
export function parseWindow(spec: string): DeployWindow {
  const m = /^\s*(?:(\S+)\s+)?(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(spec);
  if (!m) throw new Error(`deploy window "${spec}" is not "[days ]HH:MM-HH:MM" (e.g. "Mon-Fri 08:00-16:00")`);
  const days = new Set<number>();
  for (const item of (m[1] ?? "Sun-Sat").split(",")) {
    const [a, b] = item.split("-") as [string, string | undefined];
    const first = day(a, spec);
    const last = b === undefined ? first : day(b, spec);
    for (let d = first; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === last) break;
    }
  }
  const from = minutes(m[2] as string, spec, false);
  const to = minutes(m[3] as string, spec, true);
  if (from === to) throw new Error(`deploy window "${spec}" is empty (for a whole day write 00:00-24:00)`);
  return { spec, days, from, to };
}

/** A time zone the platform knows ("Europe/Berlin"), or an Error saying it does not. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new Error(`time zone "${tz}" is not known (an IANA name such as Europe/Berlin or America/New_York)`);
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The day of the week and the minute of the day on a wall clock in `tz` (undefined: the server's). */
export function wallClock(at: Date, tz?: string): { day: number; minute: number } {
  const key = tz ?? "";
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { ...(tz ? { timeZone: tz } : {}), weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formats.set(key, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return { day: day(parts.weekday as string, ""), minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether one of `windows` is open at `at`. */
export function isOpen(windows: DeployWindow[], at: Date, tz?: string): boolean {
  const { day: d, minute } = wallClock(at, tz);
  const yesterday = (d + 6) % 7;
  return windows.some((w) => (w.from < w.to ? w.days.has(d) && minute >= w.from && minute < w.to : (w.days.has(d) && minute >= w.from) || (w.days.has(yesterday) && minute < w.to)));
}

/**
 * The first minute at or after `at` when a window is open (at itself when one is), within eight
 * days; undefined when none opens in that time (every window in an hour a daylight-saving change
 * skips, say). Stepped a minute at a time: every offset from UTC is a whole number of minutes.
 */
export function nextOpening(windows: DeployWindow[], at: Date, tz?: string): Date | undefined {
  let t = Math.floor(at.getTime() / 60_000) * 60_000;
  if (isOpen(windows, at, tz)) return at;
  for (let i = 0; i < 8 * 1440; i++) {
    t += 60_000;
    if (isOpen(windows, new Date(t), tz)) return new Date(t);
  }
  return undefined;
}

/** "Mon 2026-12-14 08:00 Europe/Berlin": a time as the window's reader thinks of it. */
export function formatLocal(at: Date, tz?: string): string {
  const f = new Intl.DateTimeFormat("en-CA", { ...(tz ? { timeZone: tz } : {}), weekday: "short", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${tz ?? p.timeZoneName}`;
}
