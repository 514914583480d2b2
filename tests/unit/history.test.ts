// The deploy history file: appended one line at a time, bounded, repeated failures folded, a line
// cut short by a crash skipped, secrets scrubbed.
import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerSecret } from "../../lib/base/redact.ts";
import { appendHistory, type HistoryEntry, KEEP, readAll, readHistory } from "../../lib/history/index.ts";

const file = () => join(mkdtempSync(join(tmpdir(), "konta-history-")), "history.jsonl");
const entry = (i: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  kind: "deploy",
  trigger: "timer",
  result: "deployed",
  sha: i.toString(16).padStart(40, "0"),
  actions: [{ service: "web/app", action: "updated" }],
  durationMs: 1000 + i,
  ...over,
});

describe("history", () => {
  test("appended entries read back newest first; -n takes the newest", () => {
    const f = file();
    for (let i = 1; i <= 5; i++) appendHistory(f, entry(i));
    expect(readHistory(f).map((e) => e.durationMs)).toEqual([1005, 1004, 1003, 1002, 1001]);
    expect(readHistory(f, 2).map((e) => e.durationMs)).toEqual([1005, 1004]);
    expect(readFileSync(f, "utf8").split("\n").filter(Boolean)).toHaveLength(5);
  });

  test("bounded: past the limit the file is rewritten to the newest KEEP entries", () => {
    const f = file();
    for (let i = 1; i <= KEEP + 150; i++) appendHistory(f, entry(i));
    const all = readAll(f);
    expect(all.length).toBeLessThanOrEqual(KEEP + 100);
    expect(all.length).toBeGreaterThanOrEqual(KEEP);
    expect(all.at(-1)?.durationMs).toBe(1000 + KEEP + 150);
    expect(readFileSync(f, "utf8").length).toBeLessThan(300 * (KEEP + 100));
  });

  test("the same failure run after run is one entry with a count; a different one is a new entry", () => {
    const f = file();
    const down = (i: number) => entry(i, { kind: "failure", result: "failed", sha: undefined, actions: [], error: "cannot reach the Git server" });
    appendHistory(f, entry(1));
    for (let i = 2; i <= 40; i++) appendHistory(f, down(i));
    appendHistory(f, entry(50));
    const all = readAll(f);
    expect(all).toHaveLength(3);
    expect(all[1]).toMatchObject({ kind: "failure", repeated: 38, at: down(2).at, lastAt: down(40).at });
  });

  test("a line cut short by a crash is skipped, and the next entry starts a line of its own", () => {
    const f = file();
    appendHistory(f, entry(1));
    appendFileSync(f, JSON.stringify(entry(2)).slice(0, 40));
    appendHistory(f, entry(3));
    expect(readAll(f).map((e) => e.durationMs)).toEqual([1001, 1003]);
    writeFileSync(f, "not json\n{}\n");
    expect(readAll(f)).toEqual([]);
  });

  test("errors are scrubbed of registered secrets", () => {
    const f = file();
    registerSecret("ghp_historysecret0123456789");
    appendHistory(f, entry(1, { kind: "failure", result: "failed", error: "fetch https://x:ghp_historysecret0123456789@h/r.git failed" }));
    expect(readFileSync(f, "utf8")).not.toContain("ghp_historysecret0123456789");
  });
});
