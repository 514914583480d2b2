// The original Konta's command names, for scripts written against it.
import { expect, test } from "bun:test";
import { translateOriginal } from "../../cli/original.ts";

test("run, bootstrap, update and help map onto today's commands; daemon explains the timer", () => {
  expect(translateOriginal(["run"])).toEqual(["sync", "--now"]);
  expect(translateOriginal(["bootstrap", "--repo", "https://x/y.git"])).toEqual(["install", "--repo", "https://x/y.git"]);
  expect(translateOriginal(["update", "--from", "f", "--sha256", "a"])).toEqual(["self-update", "--from", "f", "--sha256", "a"]);
  expect(translateOriginal(["help", "sync"])).toEqual(["sync", "--help"]);
  expect(translateOriginal(["daemon"])).toBe(2);
  expect(translateOriginal(["status", "--json"])).toEqual(["status", "--json"]);
});
