// `include` and the empty Compose file against Compose v2: each case is one release folder loaded
// by Konta and by `docker compose config`; both accept it with the same meaning or both refuse it.
// What Konta refuses on purpose (an include leaving the repository, a remote one) is in
// tests/unit/compose-include.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { composeConfig } from "../support/compose-oracle.ts";

const work = mkdtempSync(join(tmpdir(), "konta-oracle-include-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A release holding `files` (paths from its root); the project is apps/app. */
function release(files: Record<string, string>) {
  const root = join(work, `r${++n}`);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), content);
  }
  const dir = join(root, "apps", "app");
  return { root, dir, konta: () => loadProject(dir, "app", { repoRoot: root, processEnv: {} }), compose: () => composeConfig(dir, "app") };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("include as docker compose config reads it", () => {
  test("nested includes: each file's paths against its own project directory, variables from the including project first", () => {
    const r = release({
      "apps/app/compose.yaml": "include:\n  - ../../lib/db/compose.yaml\nservices:\n  web:\n    image: busybox:${TAG}\n    volumes: [./conf:/conf]\n",
      "apps/app/.env": "TAG=1\nSHARED=from-app\n",
      "apps/app/conf/x": "",
      "lib/db/compose.yaml": "include:\n  - path: cache/compose.yaml\n    env_file: cache.env\nservices:\n  db:\n    image: busybox:${DB_TAG}\n    volumes: [./init:/init]\n    environment: [\"SHARED=${SHARED}\"]\n",
      "lib/db/.env": "DB_TAG=2\nSHARED=from-db\n",
      "lib/db/init/x": "",
      "lib/db/cache.env": "CACHE_TAG=3\n",
      "lib/db/cache/compose.yaml": "services:\n  cache:\n    image: busybox:${CACHE_TAG}-${DB_TAG}\n    env_file: [cache-app.env]\n    volumes: [./data:/data]\n",
      "lib/db/cache/cache-app.env": "MODE=cache\n",
      "lib/db/cache/data/x": "",
    });
    const ours = r.konta();
    const theirs = r.compose();
    expect(Object.keys(ours.services).sort()).toEqual(Object.keys(theirs.services).sort());
    for (const name of Object.keys(theirs.services)) {
      const s = ours.services[name]!;
      const c = theirs.services[name];
      expect({ name, image: s.image, environment: s.environment ?? {} }).toEqual({ name, image: c.image, environment: c.environment ?? {} });
      // Konta keeps release paths relative to the project folder, Compose absolute
      expect(s.volumes?.map((v) => (v.type === "bind" ? join(r.dir, v.source) : "source" in v ? v.source : undefined))).toEqual(c.volumes.map((v: { source: string }) => v.source));
    }
  });

  test("a service defined again identically is one service; defined differently, both refuse it", () => {
    const same = release({
      "apps/app/compose.yaml": "include: [a.yaml, b.yaml]\nservices:\n  web:\n    image: busybox\n",
      "apps/app/a.yaml": "services:\n  x:\n    image: busybox\nvolumes:\n  v: {}\n",
      "apps/app/b.yaml": "services:\n  x:\n    image: busybox\nvolumes:\n  v: {}\n",
    });
    expect(Object.keys(same.konta().services).sort()).toEqual(Object.keys(same.compose().services).sort());

    const differ = release({
      "apps/app/compose.yaml": "include: [a.yaml]\nservices:\n  x:\n    image: busybox:2\n",
      "apps/app/a.yaml": "services:\n  x:\n    image: busybox\n",
    });
    expect(() => differ.compose()).toThrow("services.x conflicts with imported resource");
    expect(refusal(differ.konta)).toContain("apps/app/compose.yaml:3: services.x: services.x conflicts with imported resource");

    const twoIncludes = release({
      "apps/app/compose.yaml": "include: [a.yaml, b.yaml]\nservices:\n  web:\n    image: busybox\n",
      "apps/app/a.yaml": "volumes:\n  v: {}\nservices:\n  x:\n    image: busybox\n",
      "apps/app/b.yaml": "volumes:\n  v:\n    labels: [a=b]\n",
    });
    expect(() => twoIncludes.compose()).toThrow("volumes.v conflicts with imported resource");
    expect(refusal(twoIncludes.konta)).toContain("apps/app/compose.yaml:1: include[1]: volumes.v conflicts with imported resource");
  });

  test("an include cycle: both refuse it; Konta names the chain", () => {
    const r = release({
      "apps/app/compose.yaml": "include: [../../shared/a.yaml]\nservices:\n  web:\n    image: busybox\n",
      "shared/a.yaml": "include: [b.yaml]\nservices:\n  a:\n    image: busybox\n",
      "shared/b.yaml": "include: [a.yaml]\nservices:\n  b:\n    image: busybox\n",
    });
    expect(() => r.compose()).toThrow("include cycle detected");
    expect(refusal(r.konta)).toContain("shared/b.yaml:1: include[0]: include cycle: apps/app/compose.yaml -> shared/a.yaml -> shared/b.yaml -> shared/a.yaml");
  });

  test("an override file merges onto an included service", () => {
    const r = release({
      "apps/app/compose.yaml": "include: [db/compose.yaml]\nservices:\n  web:\n    image: busybox\n",
      "apps/app/compose.override.yaml": "services:\n  db:\n    environment: [MODE=override]\n",
      "apps/app/db/compose.yaml": "services:\n  db:\n    image: busybox\n    environment: [MODE=base, KEEP=1]\n",
    });
    expect(r.konta().services.db?.environment).toEqual(r.compose().services.db.environment);
  });
});

describe("an empty Compose file", () => {
  for (const [what, text] of [
    ["no content", ""],
    ["only a comment", "# nothing yet\n"],
    ["an empty mapping", "{}\n"],
    ["only an include of an empty file", "include: [empty.yaml]\n"],
  ] as const) {
    test(`${what}: both refuse it`, () => {
      const r = release({ "apps/app/compose.yaml": text, "apps/app/empty.yaml": "" });
      expect(() => r.compose()).toThrow("empty compose file");
      expect(refusal(r.konta)).toMatch(/^apps\/app\/compose.yaml(:1)?: empty compose file/);
    });
  }

  test("`services: {}` and an empty override file: both accept them", () => {
    const r = release({ "apps/app/compose.yaml": "services: {}\n" });
    expect(Object.keys(r.konta().services)).toEqual(Object.keys(r.compose().services));
    const o = release({ "apps/app/compose.yaml": "services:\n  web:\n    image: busybox\n", "apps/app/compose.override.yaml": "" });
    expect(Object.keys(o.konta().services)).toEqual(Object.keys(o.compose().services));
  });
});
