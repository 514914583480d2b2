// lib/base/steps.ts: the `steps:` line of --verbose (bench/run.ts reads it for RESULTS.md §4c).
import { expect, test } from "bun:test";
import { adoptStartedAt, describeSteps, recordSteps, startedAtEnv, step } from "../../lib/base/steps.ts";

test("nothing is recorded before recordSteps (a run without --verbose)", () => {
  step("ignored");
  expect(describeSteps()).toBeUndefined();
});

test("the first image's start is taken from the environment, and removed from it", () => {
  const start = performance.timeOrigin - 250;
  process.env.KONTA_STARTED_AT = String(start);
  adoptStartedAt();
  expect(process.env.KONTA_STARTED_AT).toBeUndefined();
  expect(startedAtEnv()).toEqual({ KONTA_STARTED_AT: String(start) });
});

test("a start after this image's is not believed", () => {
  const before = startedAtEnv();
  process.env.KONTA_STARTED_AT = String(performance.timeOrigin + 60_000);
  adoptStartedAt();
  expect(startedAtEnv()).toEqual(before);
  expect(process.env.KONTA_STARTED_AT).toBeUndefined();
});

test("each step's own time, the first counted from the process's start, and the RSS after it", async () => {
  recordSteps();
  const at = performance.now();
  step("runtime and config");
  await Bun.sleep(30);
  step("remote head");
  const line = describeSteps() ?? "";
  const parts = /^steps: runtime and config \+(\d+) ms ([\d.]+) MB; remote head \+(\d+) ms ([\d.]+) MB$/.exec(line);
  expect(parts).not.toBeNull();
  const [, first, rss, second] = (parts ?? []).map(Number) as number[];
  expect(first).toBeGreaterThanOrEqual(250 + Math.floor(at) - 1);
  expect(second).toBeGreaterThanOrEqual(29);
  expect(rss).toBeGreaterThan(1);
});
