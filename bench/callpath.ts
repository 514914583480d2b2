// How a deploy's path walks the tree: every function of lib/ records its entry (a Bun plugin adds one
// call as the first statement of each `function` and method), then one deploy of a one-service
// change runs in this process (deploy.parallel 1, so entries do not interleave) against the real
// engine and a Git server. Printed: the calls from the deploy's start to the run's end, how often
// consecutive calls are in different folders, and how many of those changes go up a layer
// (lib/base < adapters < lib/targets < lib/flows). Used for issue 53's "changes folder at most half
// as often"; run it at two commits to compare.
//   bun bench/callpath.ts [--list]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { plugin } from "bun";

const ROOT = resolve(import.meta.dir, "..");
const calls: { file: string; fn: string }[] = [];
let tracing = false;
(globalThis as { __kontaTrace?: (file: string, fn: string) => void }).__kontaTrace = (file, fn) => {
  if (tracing) calls.push({ file, fn });
};

// `function name(`, `async function name(`, and class methods `  [modifiers] name(...) ... {` at
// the end of their line: a call added right after the opening brace
const FN = /^(\s*)(export\s+)?(default\s+)?(async\s+)?function\s*\*?\s*(\w+)\s*(<[^>]*>)?\s*\(/;
const METHOD = /^(\s{2,})(?:(?:public|private|protected|static|readonly|override)\s+)*(async\s+)?(\w+)\s*(<[^>]*>)?\s*\(/;
function instrument(src: string, file: string): string {
  const lines = src.split("\n");
  let pending: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const f = FN.exec(line);
    const m = !f && !/^\s*(if|for|while|switch|catch|return|await|const|let|new|throw|else|function)\b/.test(line) ? METHOD.exec(line) : null;
    const name = f?.[5] ?? (m && m[3] !== "constructor" ? m[3] : undefined);
    if (name) pending = name;
    // the signature ends with "{" (possibly lines later)
    if (pending && /\)\s*(:\s*[^={]+)?\{\s*$/.test(line) && !/=>\s*\{\s*$/.test(line)) {
      lines[i] = `${line} globalThis.__kontaTrace?.(${JSON.stringify(file)}, ${JSON.stringify(pending)});`;
      pending = undefined;
    } else if (pending && /;\s*$|=>/.test(line)) {
      pending = undefined; // an overload, a declaration or an arrow: not a body
    }
  }
  return lines.join("\n");
}

plugin({
  name: "trace lib/",
  setup(build) {
    build.onLoad({ filter: /\/lib\/.*\.ts$/ }, async (args) => {
      const file = relative(ROOT, args.path);
      return { contents: instrument(await Bun.file(args.path).text(), file), loader: "ts" };
    });
  },
});

const { startGitServer } = await import("../tests/support/git-server.ts");
const { TestRepo } = await import("../tests/support/repo.ts");
const { ensureEngine, cleanup } = await import("../tests/support/docker.ts");
const { compose, sleeper } = await import("../tests/support/compose.ts");
const { Runtime } = await import("../lib/flows/runtime.ts");
const { sync } = await import("../lib/flows/sync/index.ts");

const work = mkdtempSync(join(tmpdir(), "konta-callpath-"));
const token = "callpath-token-1";
await ensureEngine();
const git = await startGitServer({ root: join(work, "git"), token });
const repo = new TestRepo(join(work, "git"), "infra");
const app = (v: string) => compose({ services: { web: sleeper({ environment: { V: v } }), db: sleeper() } });
try {
  repo.write({ "apps/kt-callpath/docker-compose.yml": app("1") }).commit("v1");
  const config = join(work, "config.yaml");
  writeFileSync(config, `version: 1\nrepository:\n  url: ${git.repoUrl("infra")}\n  token: ${token}\ndeploy:\n  parallel: 1\n  min_uptime: 0.5\n`, { mode: 0o600 });
  const state = join(work, "state");
  await sync(await Runtime.load({ config, stateDir: state }));
  repo.write({ "apps/kt-callpath/docker-compose.yml": app("2") }).commit("v2");
  const rt = await Runtime.load({ config, stateDir: state });
  tracing = true;
  const report = await sync(rt);
  tracing = false;
  if (report.result !== "deployed") throw new Error(`the traced run did not deploy: ${report.message}`);
} finally {
  await git.close();
  repo.dispose();
  await cleanup();
  rmSync(work, { recursive: true, force: true });
}

// from the deploy's start (the first call into the deploy path) to the run's end
const start = calls.findIndex((c) => c.fn === "deployCommit");
const path = calls.slice(start < 0 ? 0 : start);
const LAYERS = [["lib/base", "lib/generated"], ["lib/config", "lib/compose", "lib/git", "lib/docker", "lib/releases", "lib/hooks", "lib/sops", "lib/state", "lib/history", "lib/notify", "lib/webhook"], ["lib/targets"], ["lib/flows"]];
const folder = (file: string) => file.slice(0, file.lastIndexOf("/"));
const layer = (file: string) => LAYERS.findIndex((fs) => fs.some((f) => file.startsWith(`${f}/`)));
/** Consecutive calls in different folders, and how many of those go up a layer. */
function walk(calls: { file: string }[]): { changes: number; up: number } {
  let changes = 0;
  let up = 0;
  for (let i = 1; i < calls.length; i++) {
    const [a, b] = [calls[i - 1] as { file: string }, calls[i] as { file: string }];
    if (folder(a.file) === folder(b.file)) continue;
    changes++;
    if (layer(b.file) > layer(a.file)) up++;
  }
  return { changes, up };
}
if (process.argv.includes("--list")) for (const c of path) console.log(`${c.file} ${c.fn}`);
const all = walk(path);
console.log(`from deployCommit to the run's end: ${path.length} calls, ${all.changes} changes of folder, ${all.up} of them up a layer`);
// lib/base is the words every layer shares (errors, logs, steps): a call to it is no step of the path
const path2 = path.filter((c) => !c.file.startsWith("lib/base/"));
const noBase = walk(path2);
console.log(`without lib/base: ${path2.length} calls, ${noBase.changes} changes of folder, ${noBase.up} of them up a layer`);
// between flows and targets: how often the path goes back and forth between the two layers that decide
const path3 = path.filter((c) => c.file.startsWith("lib/flows/") || c.file.startsWith("lib/targets/"));
const layers = walk(path3.map((c) => ({ file: c.file.startsWith("lib/flows/") ? "lib/flows/x" : "lib/targets/x" })));
console.log(`flows and targets only: ${path3.length} calls, ${layers.changes} changes between the two, ${layers.up} of them back up to flows`);
