// `konta check` over a corpus of Compose projects (one folder each, e.g. a checkout of
// docker/awesome-compose): its time per project (median of 5 runs of the release binary), and
// with --plan its answer held against `konta plan`'s on a real engine and Git server, as
// tests/integration/check.test.ts does for the suite's own fixtures.
//   bun bench/check-corpus.ts <corpus dir> [--plan]
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const corpus = resolve(process.argv[2] ?? "");
const withPlan = process.argv.includes("--plan");
const BIN = resolve(import.meta.dir, "../dist/konta");
const names = readdirSync(corpus)
  .filter((n) => statSync(join(corpus, n)).isDirectory() && ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"].some((f) => readdirSync(join(corpus, n)).includes(f)))
  .sort();

/** A working tree holding one project as apps/<name>. */
function tree(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "konta-corpus-"));
  mkdirSync(join(dir, "apps"));
  cpSync(join(corpus, name), join(dir, "apps", name.toLowerCase().replace(/[^a-z0-9_-]/g, "-")), { recursive: true });
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows: { name: string; ms: number; code: number; planCode?: number }[] = [];
let compare: ((name: string, dir: string) => Promise<number>) | undefined;
let done: (() => Promise<void>) | undefined;
if (withPlan) {
  const { startGitServer } = await import("../tests/support/git-server.ts");
  const { TestRepo } = await import("../tests/support/repo.ts");
  const { ensureEngine, cleanup } = await import("../tests/support/docker.ts");
  const { KontaEnv, runKonta } = await import("../tests/support/konta.ts");
  await ensureEngine();
  const root = mkdtempSync(join(tmpdir(), "konta-corpus-git-"));
  const git = await startGitServer({ root, token: "corpus-token" });
  let n = 0;
  compare = async (name, dir) => {
    const repo = new TestRepo(root, `corpus${++n}`);
    cpSync(join(dir, "apps"), join(repo.work, "apps"), { recursive: true });
    repo.commit(name);
    const env = new KontaEnv({ repoUrl: git.repoUrl(repo.name), token: "corpus-token", deploy: { auto_create_external_networks: true } });
    try {
      return (await runKonta(env.args("plan"))).code;
    } finally {
      env.dispose();
      repo.dispose();
      await cleanup();
    }
  };
  done = async () => {
    await git.close();
    rmSync(root, { recursive: true, force: true });
  };
}

for (const name of names) {
  const dir = tree(name);
  try {
    const times: number[] = [];
    let code = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const p = Bun.spawnSync([BIN, "check", dir, "--strict"], { stdout: "pipe", stderr: "pipe" });
      times.push(performance.now() - t);
      code = p.exitCode;
    }
    rows.push({ name, ms: median(times), code, ...(compare ? { planCode: await compare(name, dir) } : {}) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
await done?.();

const verdict = (c: number | undefined) => (c === undefined ? "" : c === 0 || c === 10 ? "accepted" : c === 2 ? "refused" : `exit ${c}`);
console.log(`| project | konta check (median of 5) | check --strict | ${withPlan ? "konta plan | same |" : ""}`);
console.log(`|---|---|---|${withPlan ? "---|---|" : ""}`);
for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(0)} ms | ${verdict(r.code)} |${withPlan ? ` ${verdict(r.planCode)} | ${verdict(r.code) === verdict(r.planCode) ? "yes" : "**no**"} |` : ""}`);
const all = rows.map((r) => r.ms);
console.log(`\n${rows.length} projects: median ${median(all).toFixed(0)} ms, max ${Math.max(...all).toFixed(0)} ms per project${withPlan ? `; check and plan agree on ${rows.filter((r) => verdict(r.code) === verdict(r.planCode)).length} of ${rows.length}` : ""}`);
