// The cache of loaded projects (lib/compose/cache.ts): a hit must be exactly what loading the new
// release returns, and any change a load could see (a Compose file, .env, an extended file in
// another folder, an env_file, a bind source, a symlink, a process variable, the options) must miss.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProjectCache } from "../../lib/compose/cache.ts";
import { type LoadOptions, loadProject, loadRelease } from "../../lib/compose/index.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/compose");
const work = mkdtempSync(join(tmpdir(), "konta-compose-cache-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const projects = readdirSync(join(FIXTURES, "apps")).sort();
let releases = 0;
/** A copy of the fixture corpus as a new release folder. */
function release(from = FIXTURES): string {
  const dir = join(work, `release-${++releases}`);
  cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

function optionsFor(root: string, cacheFile: string, extra: Partial<LoadOptions> = {}): LoadOptions & { cache: { file: string; build: string } } {
  return { repoRoot: root, processEnv: {}, passthrough: [], profiles: [], cache: { file: cacheFile, build: "test" }, ...extra };
}

/** Load one project through the cache; says whether it was a hit. */
function cachedLoad(root: string, name: string, opts: LoadOptions & { cache: { file: string; build: string } }) {
  const cache = ProjectCache.open(opts.cache, opts);
  let loaded = false;
  const value = cache.load(name, () => {
    loaded = true;
    return loadProject(join(root, "apps", name), name, opts);
  });
  cache.save(projects);
  return { value, hit: !loaded };
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

describe("compose cache", () => {
  const fixtureOptions: Record<string, { env?: Record<string, string>; passthrough?: string[]; profiles?: string[]; hostEnv?: string }> = JSON.parse(
    readFileSync(join(FIXTURES, "options.json"), "utf8"),
  );
  const hostEnvDir = mkdtempSync(join(work, "hostenv-"));
  for (const [name, o] of Object.entries(fixtureOptions)) if (o.hostEnv) writeFileSync(join(hostEnvDir, `${name}.env`), o.hostEnv, { mode: 0o600 });
  const fixtureLoad = (root: string, name: string, cacheFile: string) => {
    const o = fixtureOptions[name] ?? {};
    return optionsFor(root, cacheFile, { processEnv: o.env ?? {}, passthrough: o.passthrough ?? [], profiles: o.profiles ?? [], hostEnvDir });
  };

  test("every fixture project unchanged in a new release is a hit, equal to loading it", () => {
    const cacheFile = join(work, "corpus.json");
    const a = release();
    const b = release(a);
    for (const name of projects) cachedLoad(a, name, fixtureLoad(a, name, cacheFile));
    const missed: string[] = [];
    for (const name of projects) {
      const r = cachedLoad(b, name, fixtureLoad(b, name, cacheFile));
      if (!r.hit) missed.push(name);
      // strict: a hit comes back through JSON, which would drop a key whose value is undefined
      expect({ name, model: r.value }).toStrictEqual({ name, model: loadProject(join(b, "apps", name), name, fixtureLoad(b, name, cacheFile)) });
      expect(r.value.dir).toBe(join(b, "apps", name));
    }
    // these two read a process variable and a host env file: never kept
    expect(missed).toEqual(["env-forms", "wordpress-mysql"]);
  });

  test("loadRelease goes through the cache and forgets projects that left the release", () => {
    const cacheFile = join(work, "release.json");
    const a = release();
    rmSync(join(a, "apps/wordpress-mysql"), { recursive: true });
    const opts = (root: string) => optionsFor(root, cacheFile, { profiles: ["monitoring"] });
    loadRelease(a, opts(a));
    const entries = () => Object.keys(JSON.parse(readFileSync(cacheFile, "utf8")).entries);
    expect(entries()).toContain("basic-image");
    const b = release(a);
    expect(plain(loadRelease(b, opts(b)))).toEqual(plain(loadRelease(b, { ...opts(b), cache: undefined })));
    rmSync(join(b, "apps/basic-image"), { recursive: true });
    loadRelease(b, opts(b));
    expect(entries()).not.toContain("basic-image");
    expect(entries()).toContain("traefik-app");
  });

  const edits: [string, string, (root: string) => void][] = [
    ["the Compose file", "basic-image", (r) => appendFileSync(join(r, "apps/basic-image/docker-compose.yml"), "\n# a comment\n")],
    ["an override file appears", "basic-image", (r) => writeFileSync(join(r, "apps/basic-image/docker-compose.override.yml"), "services: {}\n")],
    ["a .env appears", "basic-image", (r) => writeFileSync(join(r, "apps/basic-image/.env"), "X=1\n")],
    ["a file extended from another folder", "extends-other-file", (r) => appendFileSync(join(r, "_shared/common.yml"), "    user: nobody\n")],
    ["an env_file of the extended service", "extends-other-file", (r) => appendFileSync(join(r, "_shared/common.env"), "NEW=1\n")],
    ["an env_file", "env-file", (r) => appendFileSync(join(r, "apps/env-file/extra.env"), "NEW=1\n")],
    ["an optional env_file appears", "env-file", (r) => writeFileSync(join(r, "apps/env-file/missing.env"), "NEW=1\n")],
    ["a bind source in the release", "volumes-long", (r) => writeFileSync(join(r, "apps/volumes-long/static/new.txt"), "x")],
    ["the compose file becomes a symlink", "basic-image", (r) => {
      const f = join(r, "apps/basic-image/docker-compose.yml");
      const text = readFileSync(f);
      unlinkSync(f);
      writeFileSync(join(r, "apps/basic-image/real.yml"), text);
      symlinkSync("real.yml", f);
    }],
  ];
  for (const [what, name, edit] of edits) {
    test(`a change misses: ${what}`, () => {
      const cacheFile = join(work, `edit-${name}-${releases}.json`);
      const a = release();
      expect(cachedLoad(a, name, optionsFor(a, cacheFile)).hit).toBe(false);
      const same = release(a);
      expect(cachedLoad(same, name, optionsFor(same, cacheFile)).hit).toBe(true);
      const b = release(a);
      edit(b);
      const r = cachedLoad(b, name, optionsFor(b, cacheFile));
      expect(r.hit).toBe(false);
      expect(plain(r.value)).toEqual(plain(loadProject(join(b, "apps", name), name, optionsFor(b, cacheFile))));
      // and the new load is what the next release hits
      const c = release(b);
      expect(cachedLoad(c, name, optionsFor(c, cacheFile)).hit).toBe(true);
    });
  }

  test("other load options miss", () => {
    const cacheFile = join(work, "options.json");
    const a = release();
    cachedLoad(a, "profiles", optionsFor(a, cacheFile));
    expect(cachedLoad(a, "profiles", optionsFor(a, cacheFile)).hit).toBe(true);
    expect(cachedLoad(a, "profiles", optionsFor(a, cacheFile, { profiles: ["monitoring"] })).hit).toBe(false);
    expect(cachedLoad(a, "profiles", optionsFor(a, cacheFile, { policy: { allowPrivileged: false } })).hit).toBe(false);
  });

  test("another build ignores the file", () => {
    const cacheFile = join(work, "build.json");
    const a = release();
    cachedLoad(a, "basic-image", optionsFor(a, cacheFile));
    const other = { ...optionsFor(a, cacheFile), cache: { file: cacheFile, build: "other" } };
    expect(cachedLoad(a, "basic-image", other).hit).toBe(false);
  });

  test("a project that read a process variable or a host file is never kept (its model holds host secrets)", () => {
    const cacheFile = join(work, "secrets.json");
    const a = release();
    const env = optionsFor(a, cacheFile, { processEnv: { FROM_HOST: "host-value" }, passthrough: ["FROM_HOST"] });
    expect(cachedLoad(a, "env-forms", env).hit).toBe(false);
    expect(cachedLoad(a, "env-forms", env).hit).toBe(false);
    const hostEnvDir = mkdtempSync(join(work, "hostenv-"));
    writeFileSync(join(hostEnvDir, "wordpress-mysql.env"), "MYSQL_ROOT_PASSWORD=root-secret\nWORDPRESS_DB_PASSWORD=wp-secret\n", { mode: 0o600 });
    const host = optionsFor(a, cacheFile, { hostEnvDir });
    expect(cachedLoad(a, "wordpress-mysql", host).hit).toBe(false);
    expect(cachedLoad(a, "wordpress-mysql", host).hit).toBe(false);
    const text = existsSync(cacheFile) ? readFileSync(cacheFile, "utf8") : "";
    expect(text).not.toContain("host-value");
    expect(text).not.toContain("secret");
    // an unset passthrough variable is an answer like any other: setting it misses
    const unset = optionsFor(a, cacheFile, { passthrough: ["FROM_HOST"] });
    cachedLoad(a, "env-forms", unset);
    expect(cachedLoad(a, "env-forms", unset).hit).toBe(true);
    expect(cachedLoad(a, "env-forms", env).hit).toBe(false);
  });

  test("a corrupt cache file is ignored and replaced", () => {
    const cacheFile = join(work, "corrupt.json");
    writeFileSync(cacheFile, "{not json");
    const a = release();
    expect(cachedLoad(a, "basic-image", optionsFor(a, cacheFile)).hit).toBe(false);
    expect(cachedLoad(a, "basic-image", optionsFor(a, cacheFile)).hit).toBe(true);
  });

  test("no loader module reads the host except through inputs.ts", () => {
    const dir = join(import.meta.dir, "../../lib/compose");
    const allowed = new Set(["inputs.ts", "cache.ts"]);
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !allowed.has(f))) {
      const text = readFileSync(join(dir, file), "utf8");
      expect({ file, fs: /from "(node:)?(fs|os|child_process)"|Bun\.(file|env|spawn)|require\(/.test(text) }).toEqual({ file, fs: false });
    }
  });
});
