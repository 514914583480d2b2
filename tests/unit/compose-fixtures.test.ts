// The fixture corpus: every project under tests/fixtures/compose/apps/ loads to exactly the
// normalised model (and config hashes) checked in under expected/. Regenerate after a deliberate
// change with UPDATE_FIXTURES=1, then read the diff: a changed hash recreates users' containers.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { serviceHash } from "../../lib/compose/hash.ts";

const ROOT = join(import.meta.dir, "../fixtures/compose");
const options: Record<string, { env?: Record<string, string>; passthrough?: string[]; profiles?: string[]; hostEnv?: string }> = JSON.parse(
  readFileSync(join(ROOT, "options.json"), "utf8"),
);

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

export function loadFixture(name: string) {
  const o = options[name] ?? {};
  let hostEnvDir: string | undefined;
  if (o.hostEnv) {
    hostEnvDir = mkdtempSync(join(tmpdir(), "konta-hostenv-"));
    writeFileSync(join(hostEnvDir, `${name}.env`), o.hostEnv);
    chmodSync(join(hostEnvDir, `${name}.env`), 0o600);
  }
  return loadProject(join(ROOT, "apps", name), name, {
    repoRoot: ROOT,
    processEnv: o.env ?? {},
    passthrough: o.passthrough ?? [],
    profiles: o.profiles ?? [],
    hostEnvDir,
  });
}

describe("Compose fixture corpus", () => {
  const cases = readdirSync(join(ROOT, "apps")).sort();
  test("has at least 30 projects", () => expect(cases.length).toBeGreaterThanOrEqual(30));
  for (const name of cases) {
    test(name, () => {
      const { dir: _dir, hostInputs: _h, ...model } = loadFixture(name);
      const hashes = Object.fromEntries(Object.values(model.services).map((s) => [s.name, serviceHash(s)]));
      const actual = sortKeys({ model, hashes });
      const file = join(ROOT, "expected", `${name}.json`);
      if (process.env.UPDATE_FIXTURES) {
        mkdirSync(join(ROOT, "expected"), { recursive: true });
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      }
      expect(existsSync(file)).toBe(true);
      expect(actual).toEqual(JSON.parse(readFileSync(file, "utf8")));
    });
  }
});
