// Issue "Reliability and security suite": random Compose documents (property-based, fast-check)
// fed to the loader. Whatever the input, it returns a model or throws one of Konta's own typed
// errors (which become exit 2 with a message), never anything else, and never hangs.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadProject } from "../../lib/compose/index.ts";
import { KontaError } from "../../lib/base/errors.ts";

const root = mkdtempSync(join(tmpdir(), "konta-property-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, "apps/p");
mkdirSync(dir, { recursive: true });
const opts = { repoRoot: root, processEnv: {}, policy: { allowPrivileged: false, allowedBindRoots: ["/srv"] } };

const SERVICE_KEYS = [
  "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "networks",
  "network_mode", "depends_on", "healthcheck", "restart", "deploy", "scale", "labels", "user", "working_dir",
  "container_name", "extends", "profiles", "privileged", "cap_add", "ulimits", "sysctls", "tmpfs", "secrets",
  "configs", "logging", "pull_policy", "init", "stop_grace_period", "mem_limit", "cpus", "x-custom", "bogus",
  "post_start", "pre_stop", "use_api_socket",
];

const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 70000 }), fc.boolean(), fc.constant(null), fc.constantFrom(
  "${VAR}", "${VAR:-d}", "${VAR:?boom}", "$$", "${", "~/x", "../../etc", "/var/run/docker.sock:/s", "./data:/data", "8080:80", "1.5", "10s", "host", "service:web",
));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), tie("v"), { maxKeys: 3 })),
})).v;
const serviceDoc = fc.dictionary(fc.constantFrom(...SERVICE_KEYS), value, { maxKeys: 6 });
const composeDoc = fc.record(
  {
    services: fc.dictionary(fc.constantFrom("web", "db", "a-b", "Bad Name", ""), serviceDoc, { maxKeys: 3 }),
    volumes: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 }),
    networks: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 }),
    name: scalar,
    version: scalar,
    include: value,
    secrets: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 }),
    configs: fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 }),
  },
  { requiredKeys: ["services"] },
);

const outcomes = { loaded: 0, refused: 0 };

function check(text: string): void {
  writeFileSync(join(dir, "docker-compose.yml"), text);
  const started = performance.now();
  try {
    loadProject(dir, "p", opts);
    outcomes.loaded++;
  } catch (err) {
    outcomes.refused++;
    if (!(err instanceof KontaError)) throw new Error(`not a Konta error for:\n${text}\n${(err as Error)?.stack ?? err}`);
    expect(err.message.length).toBeGreaterThan(0);
  }
  // a guard against runaway parsing (a backtracking pattern), not a speed figure
  expect(performance.now() - started).toBeLessThan(10_000);
}

describe("the Compose loader under random input", () => {
  test("random Compose-shaped documents", () => {
    fc.assert(fc.property(composeDoc, (doc) => check(stringify(doc))), { numRuns: 400, seed: Number(process.env.FC_SEED ?? 42) });
  });

  test("random text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => check(text)), { numRuns: 300, seed: Number(process.env.FC_SEED ?? 7) });
  });

  test("random mutations of a valid file", () => {
    const valid = "services:\n  web:\n    image: busybox:1\n    ports: ['8080:80']\n    volumes: [data:/data]\n    environment: {A: '${A:-x}'}\nvolumes:\n  data: {}\n";
    const mutation = fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 5 }), fc.string({ maxLength: 5 }));
    fc.assert(fc.property(mutation, ([at, del, ins]) => check(valid.slice(0, at) + ins + valid.slice(at + del))), { numRuns: 400, seed: 3 });
  });

  test("the corpus reaches both sides: documents that load and documents that are refused", () => {
    expect(outcomes.loaded).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(20);
  });
});
