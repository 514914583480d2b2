// What one `konta sync` does (lib/state decideSync): idle at the live release, deploy a new head,
// skip a head that failed before unless --now, and keep a rollback hold until the branch moves on.
import { describe, expect, test } from "bun:test";
import { decideSync, imageCheckDue, imagesDue, recordRan, rollbackTarget, type ServiceTarget, type State } from "../../lib/state/index.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const failedAt = (sha: string) => ({ sha, at: "2026-11-26T00:00:00Z", error: "boom" });
const holdAt = (sha: string, ignore: string[]) => ({ sha, since: "2026-11-26T00:00:00Z", until: "a new commit", ignore });

describe("decideSync", () => {
  test("the head is live: idle", () => {
    expect(decideSync({}, A, A, false)).toEqual({ kind: "idle", result: "up-to-date", liftHold: false });
  });
  test("a new head: deploy it", () => {
    expect(decideSync({}, B, A, false)).toEqual({ kind: "deploy", sha: B, liftHold: false });
    expect(decideSync({}, A, undefined, false)).toEqual({ kind: "deploy", sha: A, liftHold: false });
  });
  test("a head that failed before is skipped, and deployed again with --now", () => {
    expect(decideSync({ failed: failedAt(B) }, B, A, false)).toMatchObject({ kind: "skip", sha: B });
    expect(decideSync({ failed: failedAt(B) }, B, A, true)).toEqual({ kind: "deploy", sha: B, liftHold: false });
    // another commit than the failed one is not held back
    expect(decideSync({ failed: failedAt(B) }, C, A, false)).toEqual({ kind: "deploy", sha: C, liftHold: false });
  });
  test("a rollback hold keeps the held release while the head is one it ignores", () => {
    expect(decideSync({ hold: holdAt(A, [B]) }, B, A, false)).toEqual({ kind: "idle", result: "held", liftHold: false });
    // held, but the live release was changed by hand: converge back on the held one
    expect(decideSync({ hold: holdAt(A, [B]) }, B, C, false)).toEqual({ kind: "deploy", sha: A, liftHold: false });
  });
  test("a new commit lifts the hold and is deployed", () => {
    expect(decideSync({ hold: holdAt(A, [B]) }, C, A, false)).toEqual({ kind: "deploy", sha: C, liftHold: true });
    expect(decideSync({ hold: holdAt(A, [B]), failed: failedAt(C) }, C, A, false)).toMatchObject({ kind: "skip", sha: C, liftHold: true });
  });
});

describe("rollbackTarget", () => {
  const record = (sha: string, replaced?: string) => ({ sha, message: "", author: "", date: "", deployedAt: "", trigger: "sync" as const, durationMs: 0, ...(replaced ? { replaced } : {}) });
  const state = (history: ReturnType<typeof record>[]): State => ({ version: 1, history, current: history[0], expected: {} });
  test("the newest kept release before the live one", () => {
    expect(rollbackTarget(state([record(C), record(B), record(A)]), () => true)).toBe(B);
    expect(rollbackTarget(state([record(C), record(B), record(A)]), (s) => s !== B)).toBe(A);
  });
  test("a release a rollback stepped away from is not a target again", () => {
    // B was live, rolled back to A (A replaced B): the next plain rollback does not go to B
    expect(rollbackTarget(state([record(A, B), record(B), record(A)]), () => true)).toBeUndefined();
  });
});

describe("imageCheckDue", () => {
  const at = "2026-12-04T12:00:00.000Z";
  const now = Date.parse(at);
  test("never checked, or the interval passed: due; within it: not", () => {
    expect(imageCheckDue(undefined, 600, now)).toBe(true);
    expect(imageCheckDue({ checkedAt: at }, 600, now + 600_000)).toBe(true);
    expect(imageCheckDue({ checkedAt: at }, 600, now + 599_000)).toBe(false);
  });

  test("the clock went back (the last check is in the future): due now, not once the clock catches up (chaos run, seed 20261204)", () => {
    expect(imageCheckDue({ checkedAt: at }, 600, now - 3 * 3600_000)).toBe(true);
    expect(imageCheckDue({ checkedAt: at }, 600, now - 1)).toBe(true);
  });
});

describe("imagesDue: konta.image-updates on deploy.image_update_interval, periodic pull policies on their own", () => {
  const at = "2026-12-04T12:00:00.000Z";
  const now = Date.parse(at);
  const t = (image: string, extra: Partial<ServiceTarget>): ServiceTarget => ({ hash: "h", image, replicas: 1, stopped: false, job: false, ...extra });
  const expected = { p: { services: { a: t("followed:1", { imageUpdates: true }), b: t("daily:1", { pullEvery: 86_400 }), c: t("fast:1", { pullEvery: 5 }), d: t("plain:1", {}) } } } as never;

  test("nothing recorded: every followed and periodic image, never a plain one", () => {
    const due = imagesDue(expected, undefined, 600, now);
    expect([...due.refs].sort()).toEqual(["daily:1", "fast:1", "followed:1"]);
    expect(due.followed).toBe(true);
    expect(due.periodic.sort()).toEqual(["daily:1", "fast:1"]);
  });

  test("each on its own clock: the label's check just done, the daily pull an hour ago, the 5 s one 6 s ago", () => {
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const due = imagesDue(expected, { checkedAt: ago(1000), pulled: { "daily:1": ago(3600_000), "fast:1": ago(6000) } }, 600, now);
    expect([...due.refs]).toEqual(["fast:1"]);
    expect(due.followed).toBe(false);
    // a record in the future (the clock went back) is due now
    expect([...imagesDue(expected, { checkedAt: ago(1000), pulled: { "daily:1": ago(-3600_000), "fast:1": ago(1000) } }, 600, now).refs]).toEqual(["daily:1"]);
  });

  test("no followed service: the label's interval never makes a check due", () => {
    const only = { p: { services: { b: t("daily:1", { pullEvery: 86_400 }) } } } as never;
    expect(imagesDue(only, { pulled: { "daily:1": at } }, 600, now + 1000)).toEqual({ refs: new Set(), followed: false, periodic: [] });
  });
});

describe("recordRan", () => {
  test("remembers the images of kept releases only, the newest record of a release replacing the older", () => {
    const state: State = { version: 1, history: [], expected: {} };
    const img = (id: string) => ({ web: { app: { image: "app:1", id } } });
    recordRan(state, "a", img("1"), () => true);
    recordRan(state, "b", img("2"), () => true);
    recordRan(state, "a", img("3"), () => true);
    expect(state.ran).toEqual({ a: img("3"), b: img("2") });
    recordRan(state, "c", img("4"), (sha) => sha !== "a");
    expect(Object.keys(state.ran ?? {}).sort()).toEqual(["b", "c"]);
  });
});
