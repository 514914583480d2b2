// The import graph of lib/ and cli/ (value and type imports, static and dynamic): no cycles, and no
// module importing one of a higher layer. Layers, bottom up: shared basics, the adapters and the
// Compose loader, the reconciler, the flows, the CLI (docs/architecture.md).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

const LAYERS: [name: string, match: RegExp][] = [
  ["basics", /^lib\/(errors|log|redact|fsutil|host|yaml|schema|failpoint|version|paths|lock|sops|digest|labels|config-types)\.ts$|^lib\/generated\//],
  ["adapters", /^lib\/(compose|git|docker|releases|hooks)\/|^lib\/(config|config-parse|config-schema|config-legacy|token)\.ts$/],
  ["reconcile", /^lib\/(reconcile|swarm)\/|^lib\/(state|diff|notify|webhook)\.ts$/],
  ["flows", /^lib\/[^/]+\.ts$/],
  ["cli", /^cli\//],
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex(([, m]) => m.test(file));
  if (i < 0) throw new Error(`${file} is in no layer`);
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
  test("no module imports one of a higher layer", () => {
    const up: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (layerOf(d) > layerOf(f)) up.push(`${f} (${LAYERS[layerOf(f)]?.[0]}) -> ${d} (${LAYERS[layerOf(d)]?.[0]})`);
    expect(up).toEqual([]);
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
});
