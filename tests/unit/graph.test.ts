// x-konta.depends_on as a graph (lib/compose/graph.ts): what is refused, who waits for whom, and
// which networks a prerequisite brings.
import { expect, test } from "bun:test";
import { dependencyErrors, prerequisitesOf, providedNetworks, rounds } from "../../lib/compose/graph.ts";
import type { ProjectModel } from "../../lib/compose/model.ts";
import { kontaExtension } from "../../lib/compose/extension.ts";
import type { ComposeKeyError } from "../../lib/compose/errors.ts";

const project = (name: string, deps: string[] = [], networks: Record<string, { name: string; external: boolean }> = {}): ProjectModel => ({
  name,
  dir: `/r/apps/${name}`,
  files: ["compose.yaml"],
  services: { s: { name: "s", managed: true, networks: Object.fromEntries(Object.keys(networks).map((k) => [k, {}])) } as never },
  networks,
  volumes: {},
  ...(deps.length ? { konta: { depends_on: deps } } : {}),
  warnings: [],
});

test("an unknown name is refused at its index; a cycle once, where its alphabetically first project names the next", () => {
  const errors = dependencyErrors([project("a", ["c"]), project("b", ["a", "nope"]), project("c", ["b"]), project("d", ["a"])]);
  expect(errors.map((e) => [e.project.name, e.error.path, e.error.message.split(" is ")[0]])).toEqual([
    ["b", ["x-konta", "depends_on", 1], '"nope"'],
    ["a", ["x-konta", "depends_on", 0], "a -> c -> b -> a"],
  ]);
  expect(dependencyErrors([project("a", ["a"])]).map((e) => e.error.message.split(" is ")[0])).toEqual(["a -> a"]);
  expect(dependencyErrors([project("a"), project("b", ["a"]), project("c", ["a", "b"])])).toEqual([]);
});

test("prerequisites are transitive; rounds put each after its prerequisites among those given", () => {
  const all = [project("app", ["db"]), project("db", ["proxy"]), project("proxy"), project("other")];
  const pre = prerequisitesOf(all);
  expect([...(pre.get("app") ?? [])].sort()).toEqual(["db", "proxy"]);
  expect([...(pre.get("other") ?? [])]).toEqual([]);
  const after = (n: string) => [...(pre.get(n) ?? [])];
  expect(rounds(["app", "db", "other", "proxy"], after)).toEqual([["other", "proxy"], ["db"], ["app"]]);
  // db unchanged (not given): app still goes after proxy
  expect(rounds(["app", "proxy"], after)).toEqual([["proxy"], ["app"]]);
});

test("a prerequisite's own network is provided to its dependents; an external one is not", () => {
  const all = [project("proxy", [], { edge: { name: "edge", external: false }, ext: { name: "outside", external: true } }), project("app", ["proxy"], { edge: { name: "edge", external: true } })];
  const pre = prerequisitesOf(all);
  expect([...providedNetworks(all[1] as ProjectModel, all, pre)]).toEqual([["edge", "proxy"]]);
  expect([...providedNetworks(all[0] as ProjectModel, all, pre)]).toEqual([]);
});

test("x-konta: a misspelt key, a depends_on that is not a list of names, are refused at their key", () => {
  const refusal = (raw: unknown) => {
    try {
      kontaExtension(raw);
      return undefined;
    } catch (err) {
      return [(err as ComposeKeyError).path, (err as Error).message];
    }
  };
  expect(refusal({ depens_on: ["a"] })).toEqual([["x-konta", "depens_on"], '"depens_on" is not a key Konta knows here (it knows: depends_on, secrets)']);
  expect(refusal({ depends_on: "proxy" })?.[0]).toEqual(["x-konta", "depends_on"]);
  expect(refusal({ depends_on: ["a", 3] })?.[0]).toEqual(["x-konta", "depends_on", 1]);
  expect(refusal(["a"])?.[0]).toEqual(["x-konta"]);
  expect(kontaExtension({ depends_on: ["a", "b", "a"] })).toEqual({ depends_on: ["a", "b"] });
  expect(kontaExtension({ depends_on: [] })).toBeUndefined();
});
