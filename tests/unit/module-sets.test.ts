// What an idle tick and a deploy load (issue "every run under 50 MB"): the modules reachable by
// static, value imports from cli/index.ts and the sync command and the engine target's drift check
// (an idle tick), and from the modules a deploy imports on demand (the engine's convergence, the
// Git objects: lib/targets/engine/target.ts, lib/flows/sync/run.ts gitModule). Checked against the
// lists in tests/fixtures/module-sets.json: a module that joins a path fails here, cheaply and
// deterministically, before any bench shows the memory it costs. When one must join, add it to
// the list in the same commit, with the reason in the message.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const FIXTURE = join(ROOT, "tests/fixtures/module-sets.json");

/** Value imports of a file (type-only ones are erased by the transpiler); dynamic import() is not followed. */
function valueImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+([^;]*?)\s*from\s+"([^"]+)"/g)) {
    const clause = m[2] as string;
    if (/^type\s/.test(clause)) continue;
    const named = /\{([^}]*)\}/.exec(clause);
    const onlyTypes = named && !clause.replace(named[0], "").replace(/[,\s]/g, "") && (named[1] as string).split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "));
    if (onlyTypes) continue;
    out.push(m[3] as string);
  }
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+"([^"]+)"/g)) out.push(m[1] as string);
  return out;
}

function closure(entries: string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith(".ts") && !file.endsWith(".js")) return;
    for (const spec of valueImports(file)) {
      // the runtime's own modules count too: node:zlib alone costs a bare compiled program ~7 MB
      if (spec.startsWith("node:") || spec.startsWith("bun")) {
        seen.add(spec);
        continue;
      }
      if (!spec.startsWith(".")) {
        seen.add(`npm:${spec}`);
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (existsSync(join(ROOT, target))) visit(target);
    }
  };
  for (const e of entries) visit(e);
  return [...seen].sort();
}

const IDLE = ["cli/index.ts", "cli/commands/sync.ts"];
// what the engine target's port loads on each path (lib/targets/engine/target.ts: by dynamic import)
const DRIFT = ["lib/targets/engine/target.ts", "lib/targets/engine/drift.ts", "lib/targets/engine/observe.ts"];
const sets: Record<string, string[]> = {
  idle: closure([...IDLE, ...DRIFT]),
  deploy: closure([...IDLE, ...DRIFT, "lib/targets/engine/convergence.ts", "lib/git/index.ts"]),
};

describe("module sets", () => {
  const recorded = JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, string[]>;
  for (const [path, modules] of Object.entries(sets)) {
    test(`the ${path} path loads no module beyond its recorded list`, () => {
      const added = modules.filter((m) => !recorded[path]?.includes(m));
      expect(added).toEqual([]);
    });
  }
  test("the lists hold nothing that is gone (keep them honest)", () => {
    for (const [path, modules] of Object.entries(sets)) expect((recorded[path] ?? []).filter((m) => !modules.includes(m))).toEqual([]);
  });
});

// to record the lists again: KONTA_WRITE_MODULE_SETS=1 bun test tests/unit/module-sets.test.ts
if (process.env.KONTA_WRITE_MODULE_SETS) await Bun.write(FIXTURE, `${JSON.stringify(sets, null, 2)}\n`);
