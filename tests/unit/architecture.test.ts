// The import graph of lib/ and cli/ (value and type imports, static and dynamic): every file in a
// folder of one layer, no module importing one of a higher layer, the two targets apart, no cycles.
// Layers, bottom up, by folder (docs/architecture.md).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

const LAYERS: [name: string, folders: string[]][] = [
  ["base", ["lib/base", "lib/generated"]],
  ["adapters", ["lib/config", "lib/compose", "lib/git", "lib/docker", "lib/releases", "lib/hooks", "lib/sops", "lib/state", "lib/history", "lib/notify", "lib/report", "lib/webhook", "lib/secrets"]],
  ["targets", ["lib/targets"]],
  ["flows", ["lib/flows"]],
  ["cli", ["cli"]],
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex(([, folders]) => folders.some((f) => file.startsWith(`${f}/`)));
  if (i < 0) throw new Error(`${file} is in no layer's folder`);
  return i;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) sources(p, out);
    else if (/\.(ts|js)$/.test(e) && !e.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g), ...text.matchAll(/import\("(\.[^"]+)"\)/g)].map((m) => m[1] as string);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const files = [...sources("lib"), ...sources("cli")];
const graph = new Map(files.map((f) => [f, imports(f).filter((d) => files.includes(d))]));

describe("architecture", () => {
  test("every file of lib/ is in a folder of one layer", () => {
    const loose = files.filter((f) => !LAYERS.some(([, folders]) => folders.some((d) => f.startsWith(`${d}/`))));
    expect(loose).toEqual([]);
    const folders = readdirSync(join(ROOT, "lib")).filter((e) => statSync(join(ROOT, "lib", e)).isDirectory());
    expect(folders.filter((d) => !LAYERS.some(([, fs]) => fs.includes(`lib/${d}`)))).toEqual([]);
  });

  test("no module imports one of a higher layer", () => {
    const up: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (layerOf(d) > layerOf(f)) up.push(`${f} (${LAYERS[layerOf(f)]?.[0]}) -> ${d} (${LAYERS[layerOf(d)]?.[0]})`);
    expect(up).toEqual([]);
  });

  test("the two targets share only lib/targets/*.ts, never each other's modules", () => {
    const across: string[] = [];
    for (const [f, deps] of graph) {
      const own = /^lib\/targets\/(engine|swarm)\//.exec(f)?.[1];
      if (!own) continue;
      for (const d of deps) if (/^lib\/targets\/(engine|swarm)\//.test(d) && !d.startsWith(`lib/targets/${own}/`)) across.push(`${f} -> ${d}`);
    }
    expect(across).toEqual([]);
  });

  test("no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "visiting") {
        cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
        return;
      }
      state.set(f, "visiting");
      for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test("one target port: nothing outside lib/targets/ imports a target's modules, and the port names neither target", () => {
    const reaching: string[] = [];
    for (const [f, deps] of graph) {
      if (f.startsWith("lib/targets/")) continue;
      for (const d of deps) if (/^lib\/targets\/(engine|swarm)\//.test(d)) reaching.push(`${f} -> ${d}`);
    }
    expect(reaching).toEqual([]);
    expect((graph.get("lib/targets/types.ts") ?? []).filter((d) => /^lib\/targets\/(engine|swarm)\//.test(d))).toEqual([]);
    // the flows and the CLI do not branch on which target it is
    const naming = files.filter((f) => (f.startsWith("lib/flows/") || f.startsWith("cli/")) && /"(swarm|engine)"/.test(readFileSync(join(ROOT, f), "utf8")));
    expect(naming).toEqual([]);
  });
});
