// Issue "Reliability and security suite": a bad config. Every key with a wrong type, unknown keys,
// a token others can read: exit 2, an error naming the key and the file, nothing written.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runKonta } from "../support/konta.ts";

const dir = mkdtempSync(join(tmpdir(), "konta-badconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const URL = "https://example.com/infra.git";
let n = 0;

async function load(yaml: string, mode = 0o600) {
  const file = join(dir, `config${++n}.yaml`);
  const state = join(dir, `state${n}`);
  writeFileSync(file, yaml);
  chmodSync(file, mode);
  const r = await runKonta(["releases", "--config", file, "--state-dir", state]);
  return { ...r, file, state };
}

// key path -> a value of the wrong type (or out of range)
const wrong: [string, string][] = [
  ["version", "2"],
  ["repository.url", "[1, 2]"],
  ["repository.branch", "{a: 1}"],
  ["repository.path", "[x]"],
  ["repository.interval", '"often"'],
  ["repository.token", "[secret]"],
  ["repository.token_file", "12"],
  ["repository.timeout", "-1"],
  ["repository.retries", "99"],
  ["deploy.health_timeout", '"soon"'],
  ["deploy.keep_releases", "1"],
  ["deploy.prune_removed_apps", '"maybe"'],
  ["deploy.min_uptime", "[1]"],
  ["deploy.parallel", "0"],
  ["deploy.profiles", '"web"'],
  ["deploy.env_passthrough", "{A: 1}"],
  ["deploy.allow_privileged", '"no way"'],
  ["deploy.allowed_bind_roots", "/srv"],
  ["hooks.timeout", "0"],
  ["notify.url", "ftp://example.com"],
  ["notify.format", "telegram"],
  ["notify.timeout", '"long"'],
];

function configWith(path: string, value: string): string {
  const [section, key] = path.includes(".") ? (path.split(".") as [string, string]) : [undefined, path];
  const base: Record<string, Record<string, string>> = { repository: { url: URL }, deploy: {}, hooks: {}, notify: { url: "https://example.com/hook" } };
  const top: Record<string, string> = { version: "1" };
  if (section) (base[section] as Record<string, string>)[key] = value;
  else top[key] = value;
  const lines = Object.entries(top).map(([k, v]) => `${k}: ${v}`);
  for (const [s, entries] of Object.entries(base)) {
    const e = Object.entries(entries);
    if (!e.length) continue;
    lines.push(`${s}:`, ...e.map(([k, v]) => `  ${k}: ${v}`));
  }
  return `${lines.join("\n")}\n`;
}

describe("bad configuration", () => {
  for (const [path, value] of wrong) {
    test(`${path}: ${value}`, async () => {
      const r = await load(configWith(path, value));
      expect(r.code).toBe(2);
      expect(r.all).toContain(r.file);
      expect(r.all).toContain(path.split(".").at(-1) as string);
      expect(existsSync(r.state)).toBe(false);
    });
  }

  test("unknown keys at every level are named", async () => {
    for (const yaml of [`version: 1\nrepository:\n  url: ${URL}\ncolour: blue\n`, `version: 1\nrepository:\n  url: ${URL}\n  colour: blue\n`, `version: 1\nrepository:\n  url: ${URL}\ndeploy:\n  colour: blue\n`]) {
      const r = await load(yaml);
      expect(r.code).toBe(2);
      expect(r.all).toContain("colour");
    }
  });

  test("missing repository.url, an empty file, not YAML", async () => {
    for (const yaml of ["version: 1\nrepository: {}\n", "", "repository: [\n"]) {
      const r = await load(yaml);
      expect(r.code).toBe(2);
      expect(r.all).toContain(r.file);
    }
  });

  test("a token in a config others can read, a config others can write: refused with the chmod", async () => {
    const readable = await load(`version: 1\nrepository:\n  url: ${URL}\n  token: ghp_secret_token_value_123\n`, 0o644);
    expect(readable.code).toBe(2);
    expect(readable.all).toContain(`chmod 600 ${readable.file}`);
    expect(readable.all).not.toContain("ghp_secret_token_value_123");
    const writable = await load(`version: 1\nrepository:\n  url: ${URL}\n`, 0o666);
    expect(writable.code).toBe(2);
    expect(writable.all).toContain("writable by group or others");
  });

  test("credentials in repository.url are refused and not echoed", async () => {
    const r = await load("version: 1\nrepository:\n  url: https://x:ghp_in_url_secret_99@example.com/a.git\n");
    expect(r.code).toBe(2);
    expect(r.all).toContain("must not carry credentials");
    expect(r.all).not.toContain("ghp_in_url_secret_99");
  });
});
