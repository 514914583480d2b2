import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/index.ts";
import { resolveToken } from "../../lib/config/token.ts";

const dir = mkdtempSync(join(tmpdir(), "konta-config-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(name: string, text: string) {
  const root = join(dir, name);
  mkdirSync(join(root, "state"), { recursive: true });
  const file = join(root, "config.yaml");
  writeFileSync(file, text, { mode: 0o600 });
  const cache = { file: join(root, "state/config.cache.json"), build: "test 1", keyFile: join(root, "state/key") };
  return { file, cache };
}

describe("config cache", () => {
  test("a validated config is cached (0600) and reused; an edit is parsed and validated again", async () => {
    const { file, cache } = setup("edit", "version: 1\nrepository:\n  url: https://example.com/a.git\n");
    expect((await loadConfig(file, cache)).repository.branch).toBe("main");
    expect(statSync(cache.file).mode & 0o777).toBe(0o600);
    // the cache answers for the same bytes: make its copy recognisable
    const doc = JSON.parse(readFileSync(cache.file, "utf8"));
    doc.config.repository.branch = "from-cache";
    writeFileSync(cache.file, JSON.stringify(doc));
    expect((await loadConfig(file, cache)).repository.branch).toBe("from-cache");
    writeFileSync(file, "version: 1\nrepository:\n  url: https://example.com/a.git\n  branch: prod\n");
    expect((await loadConfig(file, cache)).repository.branch).toBe("prod");
    writeFileSync(file, "version: 1\nrepository:\n  url: https://example.com/a.git\n  branch: 3\n  bogus: 1\n");
    await expect(loadConfig(file, cache)).rejects.toThrow(/bogus/);
  });

  test("another build does not trust the cache", async () => {
    const { file, cache } = setup("build", "version: 1\nrepository:\n  url: https://example.com/a.git\n");
    await loadConfig(file, cache);
    const doc = JSON.parse(readFileSync(cache.file, "utf8"));
    doc.config.repository.branch = "stale";
    writeFileSync(cache.file, JSON.stringify(doc));
    expect((await loadConfig(file, { ...cache, build: "test 2" })).repository.branch).toBe("main");
  });

  test("a damaged cache is ignored", async () => {
    const { file, cache } = setup("damaged", "version: 1\nrepository:\n  url: https://example.com/a.git\n");
    writeFileSync(cache.file, "{not json");
    expect((await loadConfig(file, cache)).repository.url).toBe("https://example.com/a.git");
  });

  test("a plain-text token is kept encrypted in the cache and still resolves", async () => {
    const token = "ghp_plaintexttoken0123456789";
    const { file, cache } = setup("token", `version: 1\nrepository:\n  url: https://example.com/a.git\n  token: ${token}\n`);
    await loadConfig(file, cache);
    expect(readFileSync(cache.file, "utf8")).not.toContain(token);
    const cached = await loadConfig(file, cache);
    expect(cached.repository.token).toStartWith("enc:v1:");
    expect((await resolveToken(cached, cache.keyFile)).token).toBe(token);
    // without the key the cached copy is useless: the config is read again
    rmSync(cache.keyFile);
    expect((await loadConfig(file, cache)).repository.token).toBe(token);
  });
});
