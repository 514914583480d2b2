// <state>/history.jsonl: every run that did something (a deploy, a rollback, a drift repair, an
// image update, a failure, a resume), one JSON line each, newest last. Appending is one write of
// one line; a line cut short by a crash is skipped when read and the next append starts a new
// line. Past MAX entries the file is rewritten atomically to the newest KEEP, so it never grows
// without bound; the same failure repeated run after run (a Git host down for a day) is one entry
// with a count, so it cannot push the deploys out.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { failpoint } from "../base/failpoint.ts";
import { writeFileAtomic } from "../base/fsutil.ts";
import { redact } from "../base/redact.ts";

export type HistoryKind = "deploy" | "rollback" | "repair" | "image-update" | "failure" | "resume" | "waiting";
export type Trigger = "timer" | "webhook" | "manual" | "rollback";

export interface ServiceAction {
  /** project/service (a container name on the engine when a project scales a service) */
  service: string;
  action: "added" | "updated" | "removed" | "started" | "stopped" | "failed";
}

export interface HistoryEntry {
  /** when the run started */
  at: string;
  kind: HistoryKind;
  trigger: Trigger;
  /** the run's result as state.lastAttempt words it */
  result: string;
  sha?: string;
  subject?: string;
  author?: string;
  /** the release that was live before */
  previous?: string;
  actions: ServiceAction[];
  durationMs: number;
  /** the run's peak resident memory (ru_maxrss) when it was recorded, in bytes */
  peakRssBytes?: number;
  /** the Konta that ran it, "<version> (<commit>)": which binary made each deploy across upgrades */
  konta?: string;
  /** repository.tag: the tag that named the release */
  tag?: string;
  /** repository.verify: who signed it */
  signer?: string;
  /** sync.windows: deployed outside the deploy windows (`konta sync --now`) */
  outsideWindow?: true;
  /** a commit waiting for the deploy window: when it opens */
  opensAt?: string;
  error?: string;
  /** a failure deployed over: the target put the previous release back */
  rolledBack?: boolean;
  /** image references an image update brought */
  images?: string[];
  /** the same entry again in later runs: how many more times, and the last one */
  repeated?: number;
  lastAt?: string;
}

/** kept after a rewrite; a rewrite happens once the file holds MAX */
export const KEEP = 500;
const MAX = 600;

function parseLines(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as HistoryEntry;
      if (e && typeof e.at === "string" && typeof e.kind === "string") out.push(e);
    } catch {
      // a line cut short by a crash mid-append
    }
  }
  return out;
}

/** Every entry, oldest first. */
export function readAll(path: string): HistoryEntry[] {
  return existsSync(path) ? parseLines(readFileSync(path, "utf8")) : [];
}

/** The newest `n` entries, newest first. */
export function readHistory(path: string, n = KEEP): HistoryEntry[] {
  return readAll(path).slice(-n).reverse();
}

function sameEvent(a: HistoryEntry, b: HistoryEntry): boolean {
  return a.kind === "failure" && b.kind === "failure" && a.sha === b.sha && a.error === b.error && a.trigger === b.trigger && !a.actions.length && !b.actions.length;
}

/** Append one entry (scrubbed of secrets); rewrite when it repeats the last one or the file is full. */
export function appendHistory(path: string, entry: HistoryEntry): void {
  const e: HistoryEntry = { ...entry, ...(entry.error ? { error: redact(entry.error) } : {}) };
  const fd = openSync(path, "a+", 0o600);
  try {
    const size = fstatSync(fd).size;
    // the last line decides between an append, a repeat and a rewrite; 64 KB holds any entry
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const text = tail.toString("utf8");
    const last = parseLines(text.slice(text.lastIndexOf("\n", text.length - 2) + 1)).at(-1);
    const full = size > 0 && lineCount(path) >= MAX;
    if ((last && sameEvent(last, e)) || full) {
      const all = readAll(path);
      const prev = all.at(-1);
      if (prev && sameEvent(prev, e)) all[all.length - 1] = { ...prev, repeated: (prev.repeated ?? 0) + 1, lastAt: e.at, durationMs: e.durationMs };
      else all.push(e);
      writeFileAtomic(path, all.slice(-KEEP).map((x) => `${JSON.stringify(x)}\n`).join(""), 0o600);
      return;
    }
    // a crash may have left a line without its end: start a new one
    const line = `${size > 0 && tail[tail.length - 1] !== 0x0a ? "\n" : ""}${JSON.stringify(e)}\n`;
    failpoint("history-append", () => writeSync(fd, line.slice(0, line.length >> 1)));
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
}

function lineCount(path: string): number {
  const b = readFileSync(path);
  let n = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}
