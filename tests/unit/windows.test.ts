// Deploy windows (lib/base/windows.ts): parsing, open or not on the wall clock of a time zone, the
// next opening; midnight, daylight-saving changes and a week's wrap.
import { expect, test } from "bun:test";
import { checkTimeZone, formatLocal, isOpen, nextOpening, parseWindow } from "../../lib/base/windows.ts";
import { parseConfig } from "../../lib/config/parse.ts";

const W = (...specs: string[]) => specs.map(parseWindow);
const utc = (s: string) => new Date(`${s}Z`);

test("parsing: days, day ranges that wrap, every day; what is refused says why", () => {
  expect([...parseWindow("Mon-Fri 08:00-16:00").days].sort()).toEqual([1, 2, 3, 4, 5]);
  expect([...parseWindow("Fri-Mon 08:00-16:00").days].sort()).toEqual([0, 1, 5, 6]);
  expect([...parseWindow("sat,Sunday 10:00-12:00").days].sort()).toEqual([0, 6]);
  expect(parseWindow("22:00-02:00")).toMatchObject({ from: 1320, to: 120 });
  expect(parseWindow("Mon 00:00-24:00").to).toBe(1440);
  expect(() => parseWindow("Mon-Fri 8-16")).toThrow('is not "[days ]HH:MM-HH:MM"');
  expect(() => parseWindow("Mon-Fry 08:00-16:00")).toThrow('"Fry" is not a day');
  expect(() => parseWindow("Mon 08:00-25:00")).toThrow('"25:00" is not a time');
  expect(() => parseWindow("Mon 08:00-08:00")).toThrow("is empty");
  expect(() => checkTimeZone("Mars/Olympus")).toThrow('time zone "Mars/Olympus" is not known');
  checkTimeZone("Europe/Berlin");
});

test("open on the wall clock of the time zone; the end is not in the window", () => {
  const w = W("Mon-Fri 08:00-16:00");
  // 2026-12-07 is a Monday; Berlin is UTC+1 in winter
  expect(isOpen(w, utc("2026-12-07T07:00:00"), "Europe/Berlin")).toBe(true);
  expect(isOpen(w, utc("2026-12-07T06:59:00"), "Europe/Berlin")).toBe(false);
  expect(isOpen(w, utc("2026-12-07T15:00:00"), "Europe/Berlin")).toBe(false);
  expect(isOpen(w, utc("2026-12-07T15:00:00"), "UTC")).toBe(true);
  expect(isOpen(w, utc("2026-12-12T10:00:00"), "Europe/Berlin")).toBe(false); // Saturday
});

test("a window that crosses midnight belongs to the day it starts; Friday night reaches into Saturday, not Sunday night", () => {
  const w = W("Fri 22:00-02:00");
  expect(isOpen(w, utc("2026-12-11T22:30:00"), "UTC")).toBe(true); // Fri
  expect(isOpen(w, utc("2026-12-12T01:59:00"), "UTC")).toBe(true); // Sat early
  expect(isOpen(w, utc("2026-12-12T02:00:00"), "UTC")).toBe(false);
  expect(isOpen(w, utc("2026-12-12T22:30:00"), "UTC")).toBe(false); // Sat night
  expect(isOpen(w, utc("2026-12-11T01:00:00"), "UTC")).toBe(false); // Fri early: Thursday's night
});

test("daylight saving (Europe/Berlin): a window in the hour skipped in spring does not open that night; one over it opens at 03:00; the repeated autumn hour is in a window twice", () => {
  // 2026-03-29: 02:00 CET -> 03:00 CEST, at 01:00 UTC
  expect(nextOpening(W("Sun 02:15-02:45"), utc("2026-03-29T00:00:00"), "Europe/Berlin")?.toISOString()).toBe("2026-04-05T00:15:00.000Z");
  expect(nextOpening(W("Sun 02:00-04:00"), utc("2026-03-29T00:00:00"), "Europe/Berlin")?.toISOString()).toBe("2026-03-29T01:00:00.000Z");
  // 2026-10-25: 03:00 CEST -> 02:00 CET, at 01:00 UTC; 02:30 happens at 00:30 and 01:30 UTC
  const autumn = W("Sun 02:00-03:00");
  expect(isOpen(autumn, utc("2026-10-25T00:30:00"), "Europe/Berlin")).toBe(true);
  expect(isOpen(autumn, utc("2026-10-25T01:30:00"), "Europe/Berlin")).toBe(true);
  expect(isOpen(autumn, utc("2026-10-25T02:00:00"), "Europe/Berlin")).toBe(false);
});

test("the next opening: now when open, the next weekday's start otherwise, a week round at most", () => {
  const w = W("Mon-Fri 08:00-16:00");
  const fridayEvening = utc("2026-12-11T17:55:00");
  expect(nextOpening(w, fridayEvening, "Europe/Berlin")?.toISOString()).toBe("2026-12-14T07:00:00.000Z");
  expect(formatLocal(new Date("2026-12-14T07:00:00Z"), "Europe/Berlin")).toBe("Mon 2026-12-14 08:00 Europe/Berlin");
  const open = utc("2026-12-14T09:00:00");
  expect(nextOpening(w, open, "Europe/Berlin")).toEqual(open);
  // from a Sunday: the coming Saturday's last minute, almost a week on
  expect(nextOpening(W("Sat 23:59-24:00"), utc("2026-12-13T00:00:00"), "UTC")?.toISOString()).toBe("2026-12-19T23:59:00.000Z");
});

test("config: a window or time zone that is not one is refused when the config is read, naming the file; the default repairs wait", () => {
  const cfg = (sync: string) => parseConfig(`version: 1\nrepository: { url: "https://example.org/x.git" }\nsync: ${sync}\n`, "/etc/konta/config.yaml");
  expect(() => cfg('{ windows: ["Mon-Fry 08:00-16:00"] }')).toThrow('/etc/konta/config.yaml: sync: deploy window "Mon-Fry 08:00-16:00": "Fry" is not a day');
  expect(() => cfg('{ windows: ["Mon 08:00-16:00"], timezone: "Europe/Berln" }')).toThrow('/etc/konta/config.yaml: sync: time zone "Europe/Berln" is not known');
  expect(cfg('{ windows: ["Mon 08:00-16:00"] }').sync).toEqual({ windows: ["Mon 08:00-16:00"], repair_outside_windows: false });
});
