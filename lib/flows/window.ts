// sync.windows as the flows see it: whether a deploy window is open now, and when the next one
// opens, in words a person reads in their own time zone (the windows' own).
import type { SyncConfig } from "../config/types.ts";
import { formatLocal, isOpen, nextOpening, parseWindow } from "../base/windows.ts";

export interface WindowNow {
  open: boolean;
  /** when closed: the next opening, unless none comes within a week */
  opensAt?: Date;
}

/** undefined when no windows are configured (always open). */
export function windowNow(sync: SyncConfig, at = new Date()): WindowNow | undefined {
  if (!sync.windows.length) return undefined;
  // parsed again each run: a config read from its cache is plain JSON
  const windows = sync.windows.map(parseWindow);
  if (isOpen(windows, at, sync.timezone)) return { open: true };
  const opensAt = nextOpening(windows, at, sync.timezone);
  return { open: false, ...(opensAt ? { opensAt } : {}) };
}

/** "the window that opens at Mon 2026-12-14 08:00 Europe/Berlin" */
export function nextWindowText(sync: SyncConfig, opensAt: Date | string | undefined): string {
  return opensAt ? `the deploy window that opens at ${formatLocal(new Date(opensAt), sync.timezone)}` : `a deploy window (none opens within a week: check sync.windows)`;
}
