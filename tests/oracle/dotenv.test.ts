// Env files as Docker Compose v2 reads them: every file of tests/fixtures/dotenv is used as a
// service's env_file and as the project's .env, loaded by Konta and by `docker compose config`
// (Compose 2.26.1). Both give the same environment, or both refuse. A property test writes generated
// values in each quoting style and holds Konta's reading against Compose's.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";

const CORPUS = join(import.meta.dir, "../fixtures/dotenv");
/** The process environment both see (Konta: passed through); HOME is Compose's own. */
const ENV = { HOST_VAR: "from-host", EMPTY_VAR: "" };
const work = mkdtempSync(join(tmpdir(), "konta-oracle-dotenv-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Files where Konta answers differently on purpose: the reason, and what Konta reads. */
export const DELIBERATE: Record<string, { why: string; konta: Record<string, string> | "refused" }> = {
  "bare-key-last-line": {
    why: 'a bare KEY on the last line without a line break: Compose 2.26 files the text under the empty name (an entry "=HOST_VAR" that the engine refuses at create); Konta reads the bare KEY it is',
    konta: { A: "1", HOST_VAR: "from-host" },
  },
  "equals-first": {
    why: 'a line "=value": Compose 2.26 files it under the empty name, which the engine refuses at create; Konta refuses the file before anything changes',
    konta: "refused",
  },
};

type Answer = { env: Record<string, string> } | { error: string };

function folder(name: string, compose: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), compose);
  for (const [to, from] of Object.entries(files)) copyFileSync(from, join(dir, to));
  return dir;
}

/**
 * Compose's reading of the folder, or its refusal of the env file. Anything else that fails (no
 * `docker compose`, a crash, a refusal of something other than the env file) is a tooling error
 * and fails the test: "both refuse" must mean Compose refused the file.
 */
function composeAnswer(dir: string, file: string): Answer {
  const r = Bun.spawnSync(["docker", "compose", "-p", "p", "config", "--format", "json"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...ENV },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = r.stderr.toString();
  if (r.exitCode === 0) {
    const env = JSON.parse(r.stdout.toString()).services.s.environment ?? {};
    // `config` writes every $ as $$ so that its output loads again
    return { env: Object.fromEntries(Object.entries(env as Record<string, string | null>).filter(([, v]) => v !== null).map(([k, v]) => [k, (v as string).replaceAll("$$", "$")])) };
  }
  // env_file: exit 15 with the parser's message; .env: exit 1, "failed to read <the file>: <message>",
  // or (an entry under the empty name) the process environment refusing it
  const refused = r.exitCode === 15 ? refusesEnvFile(stderr) : r.exitCode === 1 && file === ".env" && (stderr.startsWith(`failed to read ${join(dir, file)}: `) || stderr.startsWith("setenv: invalid argument"));
  if (refused) return { error: stderr };
  throw new Error(`docker compose config in ${dir} failed, and not by refusing ${file} (exit ${r.exitCode}): ${stderr}`);
}

/** Compose 2.26's refusals of an env file's content (exit 15): its parser's and its interpolation's. */
export function refusesEnvFile(stderr: string): boolean {
  return /^line \d+: |Invalid template: |required variable \S+ is missing a value|key cannot contain a space/m.test(stderr);
}

function kontaAnswer(dir: string): Answer {
  try {
    const model = loadProject(dir, "p", { repoRoot: dir, processEnv: ENV, passthrough: Object.keys(ENV) });
    return { env: { ...(model.services.s?.environment ?? {}) } as Record<string, string> };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const corpus = readdirSync(CORPUS)
  .filter((f) => f.endsWith(".env"))
  .map((f) => f.slice(0, -4))
  .sort();

test("the corpus covers every rule (at least 40 files)", () => {
  expect(corpus.length).toBeGreaterThanOrEqual(40);
});

/** Compose's keys of each file, read as env_file, for the .env pass. */
const keysOf: Record<string, string[]> = {};

describe("env_file: Konta reads what Compose reads", () => {
  for (const name of corpus) {
    test(name, () => {
      const dir = folder(`env-file-${name}`, "services:\n  s:\n    image: busybox\n    env_file: [vars.env]\n", { "vars.env": join(CORPUS, `${name}.env`) });
      const compose = composeAnswer(dir, "vars.env");
      const konta = kontaAnswer(dir);
      if ("env" in compose) keysOf[name] = Object.keys(compose.env);
      const deliberate = DELIBERATE[name];
      if (deliberate) {
        // Compose really does read it otherwise, and Konta answers as written down
        expect(compose).not.toEqual(konta);
        if (deliberate.konta === "refused") expect(konta).toHaveProperty("error");
        else expect(konta).toEqual({ env: deliberate.konta });
        return;
      }
      if ("error" in compose) {
        expect(konta).toHaveProperty("error");
        // the refusal names the file and the line (never the line's text)
        expect((konta as { error: string }).error).toMatch(/vars\.env.*line \d+/s);
        return;
      }
      expect(konta).toEqual(compose);
    });
  }
});

describe(".env: the project's variables are read the same way", () => {
  for (const name of corpus) {
    test(name, () => {
      // bare names in `environment:` take the project's variables, which is where .env goes
      const keys = (keysOf[name] ?? ["A"]).filter((k) => k !== "");
      const list = keys.map((k) => `      - ${JSON.stringify(k)}\n`).join("");
      const dir = folder(`dotenv-${name}`, `services:\n  s:\n    image: busybox\n    environment:\n${list || "      - A\n"}`, { ".env": join(CORPUS, `${name}.env`) });
      const compose = composeAnswer(dir, ".env");
      const konta = kontaAnswer(dir);
      const deliberate = DELIBERATE[name];
      if (deliberate) {
        if (deliberate.konta === "refused") expect(konta).toHaveProperty("error");
        else expect(konta).toEqual({ env: Object.fromEntries(Object.entries(deliberate.konta).filter(([k]) => keys.includes(k))) });
        return;
      }
      if ("error" in compose) {
        expect(konta).toHaveProperty("error");
        expect((konta as { error: string }).error).toMatch(/\.env.*line \d+/s);
        return;
      }
      expect(konta).toEqual(compose);
    });
  }
});

describe("property: generated values in every quoting style", () => {
  // printable ASCII, tabs and a few non-ASCII letters; never "${" (an unfinished expression refuses the file)
  const value = fc
    .array(fc.oneof(fc.constantFrom(" ", "\t", "#", " #", "$", "$$", "\\", '"', "'", "=", ":", "é", "→"), fc.string({ minLength: 1, maxLength: 6 })), { maxLength: 8 })
    .map((parts) => parts.join("").replace(/[\r\n]/g, "").replaceAll("${", "$ {"))
    .filter((v) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v));
  // a backslash before a quote or at the end would escape the closing quote (single quotes keep every other one)
  const single = (v: string) => v.replace(/\\+('|$)/g, "$1");
  const styles: Record<string, (v: string) => string> = {
    unquoted: (v) => `v${v}`,
    single: (v) => `'${single(v).replaceAll("'", "\\'")}'`,
    double: (v) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`,
    "double, written raw": (v) => `"${v.replace(/\\+("|$)/g, "$1").replaceAll('"', '\\"')}"`,
    "YAML-style": (v) => `v${v}`,
  };
  // a new seed every run, printed: KONTA_SEED=<seed> replays it
  const seed = Number(process.env.KONTA_SEED ?? Date.now() % 2 ** 31);
  console.log(`dotenv property test: seed ${seed} (replay with KONTA_SEED=${seed})`);
  // names Compose takes (a digit first too), made unique by their position
  const pairs = fc.sample(fc.tuple(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), value), { numRuns: 60, seed }).map(([k, v], i) => [`${k}_${i}`, v] as const);

  for (const [style, write] of Object.entries(styles)) {
    test(`${style} (seed ${seed})`, () => {
      const sep = style === "YAML-style" ? ": " : "=";
      const text = pairs.map(([k, v]) => `${k}${sep}${write(v)}\n`).join("");
      const file = join(work, `property-${style.replace(/\W+/g, "-")}.env`);
      writeFileSync(file, text);
      const dir = folder(`property-${style.replace(/\W+/g, "-")}`, "services:\n  s:\n    image: busybox\n    env_file: [vars.env]\n", { "vars.env": file });
      const compose = composeAnswer(dir, "vars.env");
      const konta = kontaAnswer(dir);
      // every style is written so that Compose takes the file: a refusal would compare nothing
      expect(compose).toHaveProperty("env");
      expect(konta).toEqual(compose);
      // what the generator meant comes back where the style is a faithful quoting of it
      if (style === "single" && "env" in konta) for (const [k, v] of pairs) expect(konta.env[k]).toBe(single(v));
    });
  }
});

test("the corpus files are read byte for byte (no editor normalised them)", () => {
  expect(readFileSync(join(CORPUS, "crlf.env"), "latin1")).toContain("\r\n");
  expect(readFileSync(join(CORPUS, "bom.env"), "latin1").startsWith("\u00ef\u00bb\u00bf")).toBe(true);
  expect(readFileSync(join(CORPUS, "no-final-newline.env"), "utf8").endsWith("\n")).toBe(false);
});
