// Projects converge concurrently (lib/targets/engine/cross.ts applyConcurrently): independent ones
// overlap up to the limit, a project waits for the ones that give up what it takes, and after a
// failure nothing new starts while what runs finishes.
import { describe, expect, test } from "bun:test";
import { applyConcurrently } from "../../lib/targets/engine/cross.ts";
import type { ProjectPlan } from "../../lib/targets/engine/plan.ts";

const plan = (project: string) => ({ project }) as ProjectPlan;

/** A fake apply that records start/end events and takes `ms[project]` milliseconds (or fails). */
function recorder(ms: Record<string, number>, fail: string[] = []) {
  const events: string[] = [];
  let now = 0;
  let peak = 0;
  const apply = async (p: ProjectPlan) => {
    events.push(`start ${p.project}`);
    peak = Math.max(peak, ++now);
    await Bun.sleep(ms[p.project] ?? 5);
    now--;
    events.push(`end ${p.project}`);
    if (fail.includes(p.project)) throw new Error(`${p.project} failed`);
  };
  return { events, apply, peak: () => peak };
}

describe("applyConcurrently", () => {
  test("independent projects overlap, never more than the limit", async () => {
    const r = recorder({ a: 30, b: 30, c: 30, d: 30 });
    const out = await applyConcurrently(["a", "b", "c", "d"].map(plan), new Map(), 2, r.apply);
    expect(out).toEqual({ started: ["a", "b", "c", "d"] });
    expect(r.peak()).toBe(2);
    expect(r.events.slice(0, 2)).toEqual(["start a", "start b"]);
  });

  test("a project starts only after its prerequisites ended", async () => {
    const r = recorder({ a: 40, b: 5 });
    await applyConcurrently([plan("a"), plan("b")], new Map([["b", new Set(["a"])]]), 4, r.apply);
    expect(r.events).toEqual(["start a", "end a", "start b", "end b"]);
  });

  test("after a failure nothing new starts; what runs finishes; the first error is returned", async () => {
    const r = recorder({ a: 5, b: 40, c: 5 }, ["a"]);
    const out = await applyConcurrently(["a", "b", "c"].map(plan), new Map(), 2, r.apply);
    expect(out.started).toEqual(["a", "b"]);
    expect((out.error as Error).message).toBe("a failed");
    expect(r.events).toEqual(["start a", "start b", "end a", "end b"]);
  });

  test("a prerequisite cycle does not hang: the first pending project goes when nothing runs", async () => {
    const r = recorder({});
    const before = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["a"])],
    ]);
    const out = await applyConcurrently([plan("a"), plan("b")], before, 4, r.apply);
    expect(out.started).toEqual(["a", "b"]);
  });
});
