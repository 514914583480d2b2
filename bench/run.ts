// `bun run bench`: Konta against the baseline (git pull + `docker compose up -d` per app with
// Docker Compose v2, the cron job most servers run today), in the same run, on the same engine and
// repository.
// Writes bench/RESULTS.md and bench/scaling.svg/.png. Every number in those files comes from here.
//
//   bun bench/run.ts [--quick]     --quick: fewer runs, no 200-app series (for a first look)
//   bun bench/run.ts --probe [--quick]  only Konta's runs with memory and time targets (deploy and rollback
//                                  at 50 apps, first deploy, large repository), printed, not written:
//                                  for profiling between full runs (--quick: the idle tick and deploys only)
//   bun bench/run.ts --ssh         only the idle tick at 50 apps over SSH (a deploy key, a real sshd on
//                                  loopback) beside the same over HTTP, printed
//   bun bench/run.ts --status      only the status page and metrics rows at 50 apps, printed
//   bun bench/run.ts --memory      only the rows of "where a run's memory goes" and of its steps (§4b, §4c), printed
//   bun bench/run.ts --bytecode-order
//                                  only write packaging/bytecode-order/*.txt: the order in which an
//                                  idle tick and two deploys at 50 apps run Konta's functions, which
//                                  the build lays the bytecode out by (fewer pages touched, less
//                                  peak memory). Refresh them after changing code, then rebuild.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanup, engine, ensureEngine, sh, SOCKET, TEST_LABEL } from "../tests/support/docker.ts";
import { startGitServer } from "../tests/support/git-server.ts";
import { TestRepo } from "../tests/support/repo.ts";
import { type SshServer, startSshServer } from "../tests/support/ssh-server.ts";
import { dropFromPageCache } from "../lib/base/libc.ts";
import { renderChart } from "./chart.ts";
import { benchComposeLoad } from "./compose-load.ts";
import { appCompose, fmtMb, fmtMs, measure, NETWORK, repeat, type Sample, type Stats, stats, type Wordpress512, wordpress512Section } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = process.env.KONTA_BIN ?? join(ROOT, "dist/konta");
const QUICK = process.argv.includes("--quick");
const ORDER_FILES = (["idle", "deploy", "deploy-cold"] as const).map((run) => join(ROOT, `packaging/bytecode-order/${run}.txt`)) as [string, string, string];
const RUNS = QUICK ? 3 : 7;
const BASELINE_RUNS = QUICK ? 2 : 5;
const TOKEN = "bench-token-0123456789";

interface Setup {
  id: number;
  apps: number;
  services: number;
  repo: TestRepo;
  config: string;
  state: string;
  clone: string;
  version: number;
  /** the version Konta's app 0 serves */
  kontaVersion: number;
}

const work = mkdtempSync(join(tmpdir(), "konta-bench-"));
const git = await startGitServer({ root: work, token: TOKEN });
let setups = 0;
/** Every setup's repository: their work trees live outside `work`, and go at the end. */
const repos: TestRepo[] = [];

function konta(s: Setup, ...args: string[]): string[] {
  return [BIN, ...args, "--config", s.config, "--state-dir", s.state];
}

/** The network every bench app shares; it goes with each teardown's clean-up (it carries the test label). */
async function ensureNetwork(): Promise<void> {
  await engine("/networks/create", { method: "POST", body: { Name: NETWORK, CheckDuplicate: true, Labels: { [TEST_LABEL]: "1" } } }).catch(() => {});
}

let sshd: SshServer | undefined;

/** The config of a setup reaching its repository over SSH with a deploy key instead of HTTP with a token. */
async function overSsh(s: Setup): Promise<void> {
  sshd ??= await startSshServer();
  const etc = join(s.config, "..");
  sh("cp", [sshd.key, join(etc, "deploy_key")]);
  sh("cp", [sshd.knownHosts, join(etc, "known_hosts")]);
  writeFileSync(s.config, `version: 1\nrepository:\n  url: ${sshd.url(s.repo)}\ndeploy:\n  min_uptime: 0.5\n  parallel: 4\n`, { mode: 0o600 });
}

async function setup(apps: number, services: number, deployed = true, extra: Record<string, string> = {}, transport: "http" | "ssh" = "http"): Promise<Setup> {
  await ensureNetwork();
  const id = ++setups;
  const repo = new TestRepo(work, `bench${id}`);
  repos.push(repo);
  const files: Record<string, string> = {};
  for (let i = 0; i < apps; i++) files[`apps/kt-b${id}-a${i}/docker-compose.yml`] = appCompose(`kt-b${id}-a${i}`, services);
  repo.write({ ...files, ...extra }).commit(`${apps} apps`);
  const dir = join(work, `env${id}`);
  sh("mkdir", ["-p", join(dir, "etc")]);
  const config = join(dir, "etc/config.yaml");
  writeFileSync(config, `version: 1\nrepository:\n  url: ${git.repoUrl(repo.name)}\n  token: ${TOKEN}\ndeploy:\n  min_uptime: 0.5\n  parallel: 4\n`, { mode: 0o600 });
  const clone = join(dir, "clone");
  // asynchronous: the Git server answers from this process
  const cloned = await measure(["git", "clone", "-q", git.repoUrl(repo.name).replace("http://", `http://x:${TOKEN}@`), clone]);
  if (cloned.code !== 0) throw new Error(`baseline clone failed:\n${cloned.output}`);
  const s: Setup = { id, apps, services, repo, config, state: join(dir, "state"), clone, version: 1, kontaVersion: 1 };
  if (transport === "ssh") await overSsh(s);
  if (!deployed) return s;
  const first = await measure(konta(s, "sync"));
  if (first.code !== 0) throw new Error(`initial konta sync failed:\n${first.output}`);
  const base = await measure(baselineCmd(s));
  if (base.code !== 0) throw new Error(`initial baseline run failed:\n${base.output}`);
  return s;
}

function baselineCmd(s: Setup): string[] {
  return ["bash", join(ROOT, "bench/baseline.sh"), s.clone, "kt-base-"];
}

async function idle(s: Setup, runs: number): Promise<{ konta: Sample[]; baseline: Sample[] }> {
  const k = await repeat(runs, 1, async () => {
    const r = await measure(konta(s, "sync"));
    if (r.code !== 0 || !r.output.includes("up to date")) throw new Error(`idle konta sync did not say up to date:\n${r.output}`);
    return r;
  });
  const b = await repeat(Math.min(runs, BASELINE_RUNS), 1, () => measure(baselineCmd(s)));
  return { konta: k, baseline: b };
}

interface Container {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

/** The labels of one project's web container (service s0), as both tools set them. */
const webLabels = (project: string) => [`com.docker.compose.project=${project}`, "com.docker.compose.service=s0"];

/** The running web container of one project, filtered by the engine. */
async function webContainer(project: string): Promise<Container | undefined> {
  const filters = JSON.stringify({ label: webLabels(project) });
  return (await engine<Container[]>("/containers/json", { query: { filters } }))[0];
}

async function containers(prefix: string): Promise<Container[]> {
  const all = await engine<Container[]>("/containers/json", { query: { filters: JSON.stringify({ label: ["konta-bench=1"] }) } });
  return all.filter((c) => (c.Labels["com.docker.compose.project"] ?? "").startsWith(prefix));
}

/**
 * Whether the container at `ip` answers `text`. The timeout is short: a request sent just before a
 * container stops waits for an address that is gone, and a long timeout made the probe itself wait
 * (rollbacks measured ~200 ms slow). On the bridge an answer takes about a millisecond.
 */
async function serving(ip: string | undefined, text: string): Promise<boolean> {
  if (!ip) return false;
  try {
    return (await (await fetch(`http://${ip}/index.html`, { signal: AbortSignal.timeout(50) })).text()).includes(text);
  } catch {
    return false;
  }
}

interface ServingWatch {
  /** performance.now() when the container started last answered; throws after `deadline` (performance.now()) */
  servedAt(deadline: number): Promise<number>;
  close(): void;
}

/**
 * Waits until `project`'s s0 container answers `text`, woken by the engine's start events: polling
 * the engine every 5 ms took CPU (dockerd's and the bench's) from the very run being measured, on 2
 * cores. Open it before the tool starts, so that no start is missed; only a started container is
 * asked, every 5 ms, until it answers or a newer one starts.
 */
async function watchServing(project: string, text: string): Promise<ServingWatch> {
  const filters = JSON.stringify({ type: ["container"], event: ["start"], label: webLabels(project) });
  const abort = new AbortController();
  const res = await fetch(`http://localhost/v1.41/events?filters=${encodeURIComponent(filters)}`, { unix: SOCKET, signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`GET /events: ${res.status}`);
  const started: string[] = [];
  let wake = () => {};
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        started.push((JSON.parse(buffered.slice(0, i)) as { id: string }).id);
        buffered = buffered.slice(i + 1);
        wake();
      }
    }
  })().catch(() => {}); // ends when close() aborts the stream
  return {
    async servedAt(deadline) {
      let ip: string | undefined;
      for (;;) {
        const id = started.splice(0).at(-1);
        if (id) ip = Object.values((await engine<Container>(`/containers/${id}/json`)).NetworkSettings.Networks)[0]?.IPAddress;
        if (await serving(ip, text)) return performance.now();
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`${project} never answered "${text}"`);
        await (ip ? Bun.sleep(5) : Promise.race([new Promise<void>((r) => (wake = r)), Bun.sleep(left)]));
      }
    },
    close: () => abort.abort(),
  };
}

interface DeploySample extends Sample {
  /** push -> the new version answers */
  toServingMs: number;
  touched: number;
  /** the engine's create -> running of the new container */
  engineStartMs: number;
  phases?: Phases;
}

/** Where the time from a push (or a rollback's start) until the new container answers went, by the engine's clock. */
interface Phases {
  /** until the tool's first change to the engine (creating the new container or stopping the old): its start and its own work */
  beforeEngine: number;
  /** the old container's stop (its kill until its death), which the engine and the app take */
  stop: number;
  /** the rest until the new container runs: create, rename, start, and the tool between those calls */
  rest: number;
  /** running -> it answers */
  toAnswer: number;
}

const PHASES: [keyof Phases, string][] = [
  ["beforeEngine", "until the first change to the engine"],
  ["stop", "old container's stop (kill → die)"],
  ["rest", "the rest until the new one runs"],
  ["toAnswer", "running → answers"],
];

/** The phases of one replacement from the engine's events of both containers (wall clock, ms); undefined when one is missing. */
async function phases(replaced: string | undefined, fresh: string | undefined, startedWall: number, answeredWall: number): Promise<Phases | undefined> {
  if (!replaced || !fresh) return undefined;
  const query = { since: String(Math.floor(startedWall / 1000) - 1), until: String(Date.now() / 1000), filters: JSON.stringify({ container: [replaced, fresh] }) };
  const text = await engine<string, "text">("/events", { query, responseType: "text" });
  const events = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { Action: string; id: string; timeNano: number });
  const at = (id: string, action: string) => events.find((e) => e.id === id && e.Action === action && e.timeNano / 1e6 >= startedWall - 1)?.timeNano;
  const [kill, die, create, start] = [at(replaced, "kill"), at(replaced, "die"), at(fresh, "create"), at(fresh, "start")];
  if (kill === undefined || die === undefined || create === undefined || start === undefined) return undefined;
  const first = Math.min(kill, create) / 1e6;
  const stop = (die - kill) / 1e6;
  return { beforeEngine: first - startedWall, stop, rest: start / 1e6 - first - stop, toAnswer: answeredWall - start / 1e6 };
}

function phaseRows(rows: [string, Phases[]][]): string[] {
  const cells = (list: Phases[]) => PHASES.map(([k]) => (list.length ? fmtMs(stats(list.map((p) => p[k])).median) : "–"));
  return [row(["", ...PHASES.map(([, label]) => label)]), row(["---", ...PHASES.map(() => "---")]), ...rows.map(([what, list]) => row([what, ...cells(list)]))];
}

/**
 * Push a commit changing one service of app 0, run the tool, time until the new version answers.
 * `coldCache`: delete Konta's cache of loaded projects first (the first deploy after an upgrade).
 */
/** A commit that changes app 0's first service (with coldCache, Konta's compose cache dropped too). */
function commitChange(s: Setup, coldCache: boolean): void {
  s.version += 1;
  const app = `kt-b${s.id}-a0`;
  s.repo.write({ [`apps/${app}/docker-compose.yml`]: appCompose(app, s.services, s.version) }).commit(`v${s.version}`);
  if (coldCache) rmSync(join(s.state, "compose.cache.json"), { force: true });
}

async function deployOnce(s: Setup, tool: "konta" | "baseline", coldCache = false, env: Record<string, string> = {}): Promise<DeploySample> {
  const app = `kt-b${s.id}-a0`;
  const project = tool === "konta" ? app : `kt-base-${app}`;
  const prefix = tool === "konta" ? `kt-b${s.id}-` : `kt-base-kt-b${s.id}-`;
  const before = new Map((await containers(prefix)).map((c) => [c.Names[0], c.Id]));
  commitChange(s, coldCache);
  const watch = await watchServing(project, `${app} v${s.version}`);
  const pushed = performance.now();
  const pushedWall = Date.now();
  const run = measure(tool === "konta" ? konta(s, "sync") : baselineCmd(s), env);
  const toServingMs = await watch.servedAt(pushed + 120_000).finally(() => watch.close()) - pushed;
  const r = await run;
  if (r.code !== 0) throw new Error(`${tool} deploy failed:\n${r.output}`);
  if (tool === "konta") s.kontaVersion = s.version;
  const after = await containers(prefix);
  const touched = after.filter((c) => before.get(c.Names[0]) !== c.Id).length + [...before.keys()].filter((n) => !after.some((c) => c.Names[0] === n)).length;
  const fresh = after.find((c) => c.Labels["com.docker.compose.project"] === project && c.Labels["com.docker.compose.service"] === "s0");
  const info = await engine<{ Created: string; State: { StartedAt: string } }>(`/containers/${fresh?.Id}/json`);
  const replaced = fresh ? before.get(fresh.Names[0]) : undefined;
  return { ...r, toServingMs, touched, engineStartMs: Date.parse(info.State.StartedAt) - Date.parse(info.Created), phases: await phases(replaced, fresh?.Id, pushedWall, pushedWall + toServingMs) };
}

/** JavaScriptCore's JIT tiers on, as before the binary switched them off (cli/runtime.ts): what that saves */
const JIT_ON = { BUN_JSC_useBaselineJIT: "1", BUN_JSC_useDFGJIT: "1" };

async function deploy(s: Setup, runs: number, cold = false): Promise<{ konta: DeploySample[]; kontaCold: DeploySample[]; kontaJit: DeploySample[]; baseline: DeploySample[] }> {
  const k: DeploySample[] = [];
  const c: DeploySample[] = [];
  const j: DeploySample[] = [];
  const b: DeploySample[] = [];
  await deployOnce(s, "konta"); // warm-up
  for (let i = 0; i < runs; i++) k.push(await deployOnce(s, "konta"));
  if (cold) for (let i = 0; i < Math.min(runs, BASELINE_RUNS); i++) c.push(await deployOnce(s, "konta", true));
  if (cold) for (let i = 0; i < Math.min(runs, BASELINE_RUNS); i++) j.push(await deployOnce(s, "konta", false, JIT_ON));
  await deployOnce(s, "baseline");
  for (let i = 0; i < Math.min(runs, BASELINE_RUNS); i++) b.push(await deployOnce(s, "baseline"));
  return { konta: k, kontaCold: c, kontaJit: j, baseline: b };
}

/**
 * Each run deploys a new commit, then `konta rollback` (no argument) is timed until the version
 * served before that deploy answers again. The next commit lifts the rollback's hold.
 */
async function rollbacks(s: Setup, runs: number): Promise<{ toServing: number[]; tool: number[]; engine: number[]; phases: Phases[] }> {
  const toServing: number[] = [];
  const tool: number[] = [];
  const engineMs: number[] = [];
  const phaseList: Phases[] = [];
  const app = `kt-b${s.id}-a0`;
  for (let i = 0; i < runs + 1; i++) {
    const previous = s.kontaVersion;
    await deployOnce(s, "konta");
    const replaced = (await webContainer(app))?.Id;
    const watch = await watchServing(app, `${app} v${previous}`);
    const started = performance.now();
    const startedWall = Date.now();
    const run = measure(konta(s, "rollback"));
    const t = await watch.servedAt(started + 60_000).catch(async (err) => Promise.reject(new Error(`rollback: ${err.message}:\n${(await run).output}`))).finally(() => watch.close()) - started;
    const r = await run;
    if (r.code !== 0) throw new Error(`konta rollback failed:\n${r.output}`);
    s.kontaVersion = previous;
    if (i > 0) {
      toServing.push(t);
      tool.push(r.wallMs);
      const back = await webContainer(app);
      const info = await engine<{ Created: string; State: { StartedAt: string } }>(`/containers/${back?.Id}/json`);
      engineMs.push(Date.parse(info.State.StartedAt) - Date.parse(info.Created));
      const p = await phases(replaced, back?.Id, startedWall, startedWall + t);
      if (p) phaseList.push(p);
    }
  }
  return { toServing, tool, engine: engineMs, phases: phaseList };
}

/**
 * The first deploy on a fresh server (disaster recovery): every app from nothing, by Konta and by
 * the baseline, each on an engine cleaned of the other's containers. Returns wall and peak RSS.
 */
async function firstDeploy(apps: number, runs: number): Promise<{ konta: Sample[]; baseline: Sample[] }> {
  const k: Sample[] = [];
  const b: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await setup(apps, 3, false);
    const r = await measure(konta(s, "sync"));
    if (r.code !== 0) throw new Error(`first konta sync failed:\n${r.output}`);
    k.push(r);
    await teardown();
    await ensureNetwork();
    const t = await measure(baselineCmd(s));
    if (t.code !== 0) throw new Error(`first baseline run failed:\n${t.output}`);
    b.push(t);
    await teardown();
  }
  return { konta: k, baseline: b };
}

/** A repository with `files` files of random data (`mb` MB in all) outside apps/, and one app: the first sync. */
async function largeRepository(files: number, mb: number, runs: number): Promise<Sample[]> {
  const extra: Record<string, string> = {};
  const size = Math.floor((mb * 1024 * 1024) / files);
  // random bytes as base64 text do not compress: the pack is about as large as the data
  for (let i = 0; i < files; i++) extra[`data/${i % 20}/f${i}.bin`] = randomBytes(Math.ceil((size * 3) / 4)).toString("base64").slice(0, size);
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await setup(1, 1, false, extra);
    const r = await measure(konta(s, "sync"));
    if (r.code !== 0) throw new Error(`konta sync of the large repository failed:\n${r.output}`);
    samples.push(r);
    await teardown();
  }
  return samples;
}

async function teardown(): Promise<void> {
  await cleanup();
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(" | ")} |`;
}

const fmtStats = (s: Stats, f: (n: number) => string = fmtMs) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

function version(cmd: string[]): string {
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: "utf8" });
  return (r.stdout || r.stderr).trim().split("\n")[0] ?? "?";
}

/** A run's own account of its memory at exit (`--verbose`, lib/base/host.ts describeMemory), in MB. */
interface Breakdown {
  total: number;
  runtimeCode: number;
  codeAndData: number;
  heap: number;
  libraries: number;
  peak: number;
  /** the run's own steps (`--verbose`, lib/base/steps.ts): each step's time and the RSS after it */
  steps: { step: string; ms: number; mb: number }[];
}

function breakdown(r: { output: string }): Breakdown {
  const m = /memory at exit ([\d.]+) MB: runtime code ([\d.]+), Konta code and data ([\d.]+), heap ([\d.]+), libraries ([\d.]+); peak ([\d.]+) MB/.exec(r.output);
  if (!m) throw new Error(`no memory line in the output:\n${r.output.slice(-2000)}`);
  const [total, runtimeCode, codeAndData, heap, libraries, peak] = m.slice(1).map(Number) as number[];
  const steps = (/^\S+\s+steps: (.*)$/m.exec(r.output)?.[1] ?? "").split("; ").flatMap((part) => {
    const p = /^(.+) \+(\d+) ms ([\d.]+) MB$/.exec(part);
    return p ? [{ step: p[1] as string, ms: Number(p[2]), mb: Number(p[3]) }] : [];
  });
  return { total, runtimeCode, codeAndData, heap, libraries, peak, steps } as Breakdown;
}

/** A commit that changes app 0's first service, and its `konta sync --verbose`. */
async function verboseDeploy(s: Setup, env: Record<string, string>, coldCache = false): Promise<Breakdown> {
  commitChange(s, coldCache);
  const r = await measure(konta(s, "sync", "--verbose"), env);
  if (r.code !== 0) throw new Error(`deploy failed:\n${r.output}`);
  s.kontaVersion = s.version;
  return breakdown(r);
}

/**
 * Where a run's memory goes: the runs of §1 and §2 at 50 apps again with --verbose, each split by
 * what its pages are, beside a program compiled as Konta is that does nothing (the runtime's floor).
 */
async function memoryProfile(runs: number): Promise<{ rows: { what: string; b: Breakdown[] }[]; headRequest: Stats }> {
  const floorBin = join(work, "floor");
  const built = spawnSync(process.execPath, ["build", "--compile", "--compile-exec-argv=--smol", "--minify", "--bytecode", join(ROOT, "bench/floor.ts"), "--outfile", floorBin], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`bench/floor.ts did not build:\n${built.stderr}`);
  asInstalled(floorBin);
  const rows = [{ what: "the runtime alone (bench/floor.ts, compiled as Konta is)", b: (await repeat(runs, 1, () => measure([floorBin]))).map(breakdown) }];
  const s = await setup(50, 3);
  for (const [what, env] of [["idle tick", {}], ["idle tick, JIT on", JIT_ON]] as const) {
    rows.push({ what, b: (await repeat(runs, 1, () => measure(konta(s, "sync", "--verbose"), env))).map(breakdown) });
  }
  for (const [what, env, cold] of [["deploy", {}, false], ["deploy, empty compose cache", {}, true], ["deploy, JIT on", JIT_ON, false]] as const) {
    await verboseDeploy(s, env, cold);
    const b: Breakdown[] = [];
    for (let i = 0; i < runs; i++) b.push(await verboseDeploy(s, env, cold));
    rows.push({ what, b });
  }
  const b: Breakdown[] = [];
  for (let i = 0; i < runs; i++) {
    const previous = s.kontaVersion;
    await verboseDeploy(s, {});
    const r = await measure(konta(s, "rollback", "--verbose"));
    if (r.code !== 0) throw new Error(`konta rollback failed:\n${r.output}`);
    s.kontaVersion = previous;
    b.push(breakdown(r));
  }
  rows.push({ what: "rollback", b });
  const headRequest = await headRequestTime(s, runs * 4);
  await teardown();
  return { rows, headRequest };
}

/** The Git server's time for the request of Konta's "remote head" step (GET info/refs), asked by the bench itself. */
async function headRequestTime(s: Setup, runs: number): Promise<Stats> {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const res = await fetch(`${git.repoUrl(s.repo.name)}/info/refs?service=git-upload-pack`, { headers: { Authorization: `Basic ${btoa(`x-access-token:${TOKEN}`)}` } });
    if (!res.ok) throw new Error(`GET info/refs: ${res.status}`);
    await res.arrayBuffer();
    if (i > 0) times.push(performance.now() - t); // the first is a warm-up
  }
  return stats(times);
}

/** Each run's steps as `--verbose` reports them: the time of each (median, min–max) and the RSS after it. */
function stepRows(profile: { what: string; b: Breakdown[] }[]): string[] {
  const out: string[] = [];
  for (const p of profile) {
    const names = p.b[0]?.steps.map((x) => x.step) ?? [];
    if (!names.length) continue;
    out.push("", `${p.what}:`, "", row(["step", "time, median (min–max)", "RSS after it, median"]), row(["---", "---", "---"]));
    for (const name of names) {
      const of = p.b.flatMap((x) => x.steps.filter((y) => y.step === name));
      out.push(row([name, fmtStats(stats(of.map((x) => x.ms))), `${stats(of.map((x) => x.mb)).median.toFixed(1)} MB`]));
    }
  }
  return out;
}

function memoryRows(profile: { what: string; b: Breakdown[] }[]): string[] {
  const out = [row(["run", "peak RSS", "at exit", "runtime code", "Konta code and data", "heap", "libraries"]), row(["---", "---", "---", "---", "---", "---", "---"])];
  for (const p of profile) {
    const med = (k: Exclude<keyof Breakdown, "steps">) => `${stats(p.b.map((x) => x[k])).median.toFixed(1)} MB`;
    out.push(row([p.what, med("peak"), med("total"), med("runtimeCode"), med("codeAndData"), med("heap"), med("libraries")]));
  }
  return out;
}

/**
 * Every binary measured, as installed: install.sh, the .deb and self-update drop a freshly written
 * Konta from the page cache (lib/base/libc.ts, dropFromPageCache), where `bun run build` leaves it
 * cached as written and each run's RSS would count ~5 MB more. The baseline's binaries alike.
 */
function asInstalled(...files: string[]): void {
  const compose = ["/usr/local/lib/docker/cli-plugins/docker-compose", "/usr/libexec/docker/cli-plugins/docker-compose", "/usr/lib/docker/cli-plugins/docker-compose"];
  for (const file of files.length ? files : [BIN, Bun.which("docker"), Bun.which("git"), ...compose]) {
    if (file && existsSync(file)) dropFromPageCache(file);
  }
}

/** `konta version` run from a copy of the binary just written (what a build or an unpacking leaves), for comparison. */
async function justWritten(runs: number): Promise<Stats> {
  const copy = join(work, "konta-just-written");
  writeFileSync(copy, readFileSync(BIN), { mode: 0o755 });
  try {
    return stats((await repeat(runs, 1, () => measure([copy, "version"]))).map((x) => x.peakRssKb));
  } finally {
    rmSync(copy, { force: true });
  }
}

/** Every mode starts here: the engine up and clean, the binaries as installed. */
async function ready(): Promise<void> {
  await ensureEngine();
  if (!existsSync(BIN)) throw new Error(`no ${BIN}: run bun run build first`);
  await cleanup();
  asInstalled();
}

async function main(): Promise<void> {
  await ready();
  const out: string[] = [];
  // gap: where RESULTS.md shows what a missed target's figure is made of
  const targets: { what: string; target: string; value: string; met: boolean; gap?: string }[] = [];

  // 1 + 4: idle tick and footprint
  out.push("## 1. Idle tick (no new commit)", "", "Apps of 3 services each. Konta: `konta sync`. Baseline: `git fetch && git reset --hard` and `docker compose up -d` (Compose v2) per app.", "");
  out.push(row(["apps", "Konta wall, median (min–max)", "Konta peak RSS", "baseline wall, median (min–max)", "baseline peak RSS", "Konta faster by"]), row(["---", "---", "---", "---", "---", "---"]));
  const idleAt50: { konta?: Stats; rss?: Stats; baseline?: Stats } = {};
  for (const apps of QUICK ? [1, 10] : [1, 10, 50]) {
    const s = await setup(apps, 3);
    const r = await idle(s, RUNS);
    const kw = stats(r.konta.map((x) => x.wallMs));
    const kr = stats(r.konta.map((x) => x.peakRssKb));
    const bw = stats(r.baseline.map((x) => x.wallMs));
    const br = stats(r.baseline.map((x) => x.peakRssKb));
    out.push(row([apps, fmtStats(kw), fmtStats(kr, fmtMb), fmtStats(bw), fmtStats(br, fmtMb), `${(bw.median / kw.median).toFixed(1)}×`]));
    if (apps === 50) Object.assign(idleAt50, { konta: kw, rss: kr, baseline: bw });
    await teardown();
  }
  if (idleAt50.konta && idleAt50.rss && idleAt50.baseline) {
    targets.push({ what: "idle tick at 50 apps, wall", target: "≤ 150 ms", value: fmtMs(idleAt50.konta.median), met: idleAt50.konta.median <= 150 });
    targets.push({ what: "idle tick at 50 apps, peak RSS", target: "≤ 42 MB", value: fmtMb(idleAt50.rss.median), met: idleAt50.rss.median <= 42 * 1024 });
    const ratio = idleAt50.baseline.median / idleAt50.konta.median;
    targets.push({ what: "idle tick at 50 apps vs baseline", target: "≥ 5× faster", value: `${ratio.toFixed(1)}×`, met: ratio >= 5 });
  }

  out.push("", "### Status page and metrics", "", `50 apps of 3 services. Each request is one \`konta webhook\` process reading it from stdin, as konta-webhook@.service runs it (Basic auth checked, state and the engine's container listing read, the page rendered). The two idle ticks are alternated, without and with metrics.textfile_dir.`, "");
  const sc = await statusCost(QUICK ? 10 : 50, RUNS);
  out.push(...statusRows(sc));
  const pageWall = stats(sc.page.map((x) => x.wallMs));
  const pageRss = stats(sc.page.map((x) => x.peakRssKb));
  const textfileAdds = stats(sc.tickTextfile.map((x) => x.wallMs)).median - stats(sc.tickPlain.map((x) => x.wallMs)).median;
  targets.push({ what: "status page `GET /` at 50 apps, wall", target: "≤ 150 ms", value: fmtMs(pageWall.median), met: pageWall.median <= 150 });
  targets.push({ what: "status page `GET /` at 50 apps, peak RSS", target: "≤ 60 MB", value: fmtMb(pageRss.median), met: pageRss.median <= 60 * 1024 });
  targets.push({ what: "konta.prom written by the idle tick: time added (difference of medians)", target: "≤ 5 ms", value: fmtMs(textfileAdds), met: textfileAdds <= 5 });

  out.push("", "### Idle tick over SSH", "", "50 apps of 3 services; the same tick with the repository reached over SSH (a deploy key; a real sshd on loopback, git-shell) and over HTTP (a token). Peak RSS is that of the largest process of the run (Konta; the `ssh` it starts is a smaller child, and the two are not added up).", "");
  out.push(...sshRows(await idleHttpVsSsh(QUICK ? 10 : 50, RUNS)));

  // 2 + 3: deploy one changed service, rollback
  out.push("", "## 2. Deploy one changed service", "", "Apps of 3 services each; a commit changes one service of one app. Time from the push until the new version answers HTTP; containers touched anywhere in the repository. \"Empty compose cache\": the same deploy with `compose.cache.json` deleted first, as on the first deploy after an upgrade of Konta, when every project is loaded. \"JIT on\": the same deploy with JavaScriptCore's baseline and optimising JIT on, as Konta ran before it switched them off for its runs (cli/runtime.ts): what that saves.", "");
  out.push(row(["apps", "tool", "push → serving, median (min–max)", "tool run", "containers touched", "engine create→running", "Konta's own overhead", "peak RSS"]), row(["---", "---", "---", "---", "---", "---", "---", "---"]));
  let rollbackResult: Awaited<ReturnType<typeof rollbacks>> | undefined;
  let deployRss: Stats | undefined;
  let deployPhases: [string, Phases[]][] | undefined;
  for (const apps of QUICK ? [10] : [10, 50]) {
    const s = await setup(apps, 3);
    const r = await deploy(s, RUNS, true);
    for (const [tool, samples] of [["Konta", r.konta], ["Konta, empty compose cache", r.kontaCold], ["Konta, JIT on (BUN_JSC_useBaselineJIT=1, useDFGJIT=1)", r.kontaJit], ["baseline", r.baseline]] as const) {
      const serving = stats(samples.map((x) => x.toServingMs));
      const touched = [...new Set(samples.map((x) => x.touched))].join(", ");
      const start = stats(samples.map((x) => x.engineStartMs));
      const overhead = stats(samples.map((x) => x.toServingMs - x.engineStartMs));
      out.push(row([apps, tool, fmtStats(serving), fmtMs(stats(samples.map((x) => x.wallMs)).median), touched, fmtMs(start.median), tool === "baseline" ? "–" : fmtStats(overhead), fmtMb(stats(samples.map((x) => x.peakRssKb)).median)]));
      if (tool === "Konta" && apps === (QUICK ? 10 : 50)) {
        targets.push({ what: `deploy at ${apps} apps: containers touched`, target: "exactly 1", value: touched, met: touched === "1" });
        targets.push({ what: `deploy at ${apps} apps: Konta's overhead beyond the container's start`, target: "≤ 100 ms", value: fmtMs(overhead.median), met: overhead.median <= 100, gap: "§2 (where a deploy's time goes), §4c" });
        deployRss = stats(samples.map((x) => x.peakRssKb));
        targets.push({ what: `deploy at ${apps} apps: peak RSS`, target: "≤ 50 MB", value: fmtMb(deployRss.median), met: deployRss.median <= 50 * 1024, gap: "§4b, §4c" });
      }
      if (tool === "Konta, empty compose cache" && apps === (QUICK ? 10 : 50)) {
        const cold = stats(samples.map((x) => x.peakRssKb));
        targets.push({ what: `deploy at ${apps} apps with an empty compose cache: peak RSS`, target: "≤ 64 MB", value: fmtMb(cold.median), met: cold.median <= 64 * 1024 });
      }
    }
    if (apps === (QUICK ? 10 : 50)) {
      deployPhases = [
        ["Konta", r.konta.flatMap((x) => x.phases ?? [])],
        ["baseline", r.baseline.flatMap((x) => x.phases ?? [])],
      ];
      rollbackResult = await rollbacks(s, RUNS);
    }
    await teardown();
  }
  if (deployPhases) {
    out.push("", `### Where a deploy's time goes (${QUICK ? 10 : 50} apps, medians)`, "", "From the push until the new version answers, cut at the engine's own events (the old container's kill and die, the new one's create and start). The first column is the tool's start and its own work before it changes anything: for Konta the runtime's start, the remote's head, the fetch and checkout, loading and planning. Konta creates the new container before it stops the old one (stop-first), so \"engine create→running\" above holds the old container's stop, and \"Konta's own overhead\" does not.", "");
    out.push(...phaseRows(deployPhases));
  }
  if (rollbackResult) {
    const rs = stats(rollbackResult.toServing);
    const engineRs = stats(rollbackResult.engine);
    out.push("", "## 3. Rollback", "", `\`konta rollback\` in the ${QUICK ? 10 : 50}-app repository: time until the previous version answers, and the whole command (which then waits for the health gate). "Engine create→running": from the creation of the container that serves again to its start, which includes stopping the one it replaces.`, "");
    out.push(row(["until the previous version serves, median (min–max)", "engine create→running", "Konta's own overhead", "whole command, median (min–max)"]), row(["---", "---", "---", "---"]));
    out.push(row([fmtStats(rs), fmtStats(engineRs), fmtStats(stats(rollbackResult.toServing.map((t, i) => t - (rollbackResult?.engine[i] ?? 0)))), fmtStats(stats(rollbackResult.tool))]));
    out.push("", "Where it goes, as for the deploy above (medians):", "", ...phaseRows([["konta rollback", rollbackResult.phases]]));
    targets.push({ what: "rollback until the previous version serves", target: "≤ 500 ms", value: fmtMs(rs.median), met: rs.median <= 500 });
    const own = stats(rollbackResult.toServing.map((t, i) => t - (rollbackResult?.engine[i] ?? 0)));
    targets.push({ what: "rollback: Konta's own overhead until serving", target: "≤ 50 ms", value: fmtMs(own.median), met: own.median <= 50, gap: "§3, §4c (rollback)" });
  }

  // disaster recovery and a large repository
  const drApps = QUICK ? 10 : 50;
  const dr = await firstDeploy(drApps, QUICK ? 1 : 3);
  const drK = stats(dr.konta.map((x) => x.wallMs));
  const drB = stats(dr.baseline.map((x) => x.wallMs));
  out.push("", "## 3b. First deploy on a fresh server (disaster recovery)", "", `${drApps} apps of 3 services, nothing running yet: \`konta sync\` against the baseline's first run (\`docker compose up -d\` per app), each on an engine cleaned of the other's containers.`, "");
  out.push(row(["tool", "wall, median (min–max)", "peak RSS"]), row(["---", "---", "---"]));
  out.push(row(["Konta", fmtStats(drK), fmtStats(stats(dr.konta.map((x) => x.peakRssKb)), fmtMb)]), row(["baseline", fmtStats(drB), fmtStats(stats(dr.baseline.map((x) => x.peakRssKb)), fmtMb)]));
  targets.push({ what: `first deploy of ${drApps} apps vs the baseline's`, target: "no slower", value: `${fmtMs(drK.median)} vs ${fmtMs(drB.median)}`, met: drK.median <= drB.median });
  const large = stats((await largeRepository(2000, 32, QUICK ? 1 : 3)).map((x) => x.peakRssKb));
  out.push("", "## 3c. Large repository", "", "First `konta sync` of a repository with 2,000 files of random data (32 MB) outside `apps/` and one app: peak RSS of the whole process.", "");
  out.push(row(["peak RSS, median (min–max)"]), row(["---"]), row([fmtStats(large, fmtMb)]));
  targets.push({ what: "first sync of the 32 MB repository, peak RSS", target: "≤ 128 MB", value: fmtMb(large.median), met: large.median <= 128 * 1024 });

  out.push("", "## 4. Footprint", "", row(["artefact", "size"]), row(["---", "---"]));
  for (const f of ["konta", "konta-linux-arm64", "konta.js"]) {
    const p = join(ROOT, "dist", f);
    if (existsSync(p)) out.push(row([`dist/${f}`, fmtMb(statSync(p).size / 1024)]));
  }
  if (deployRss) out.push("", `Peak RSS of \`konta sync\` deploying one change: ${fmtStats(deployRss, fmtMb)}.`);
  // the floor every run starts from: the Bun runtime with Konta's code mapped, nothing done
  const floor = stats((await repeat(RUNS, 1, () => measure([BIN, "version"]))).map((x) => x.peakRssKb));
  out.push("", `Peak RSS of \`konta version\` (the runtime and Konta's code, nothing run): ${fmtStats(floor, fmtMb)}.`);
  out.push("", `The same from a copy of the binary just written, before anything drops it from the page cache (as \`bun run build\` leaves dist/konta; install.sh, the .deb and self-update drop it): ${fmtStats(await justWritten(RUNS), fmtMb)}. The same pages are in memory either way; the kernel maps more of a file cached as written into each run, and RSS counts them.`);
  targets.push({ what: "`konta version` (the runtime's floor), peak RSS", target: "measured and explained (§4b)", value: fmtMb(floor.median), met: true });

  out.push("", "## 4b. Where a run's memory goes", "", "The runs above at 50 apps again, with `--verbose`: Konta then reads /proc/self/smaps as it exits (lib/base/host.ts) and says what its resident pages are. Runtime code: pages of the executable's machine code and read-only data that the run touched (Bun and JavaScriptCore; each runtime feature used, such as fetch, the file system or the JIT compilers, touches its own). Konta code and data: the executable's writable part, Konta's bytecode and source (compiled in) and the runtime's data. Heap: anonymous memory (the JavaScript heap, malloc, JIT output, stacks). Libraries: libc and the other shared libraries. Medians in MB; \"JIT on\" is the run with JavaScriptCore's baseline and optimising JIT on, which the binary switches off for every run but `rollback` (cli/runtime.ts).", "");
  const { rows: profile, headRequest } = await memoryProfile(QUICK ? 2 : 5);
  out.push(...memoryRows(profile));
  out.push("", "## 4c. Where Konta's own time and memory go, step by step", "", `The same runs: with \`--verbose\` Konta ends with a line that gives each step of the run its time and the RSS after it (lib/base/steps.ts). The first step counts from the start of the process: the runtime's start (twice for a sync: the binary starts itself again with the JIT off, cli/runtime.ts), the command line and the config. "remote head" and "fetch" are each a request to the Git server and include the server's time: the bench's own GET of the same info/refs took ${fmtStats(headRequest)} (git-http-backend, started by the test server for each request). The first change to the engine comes early in "apply", which then waits for the new containers to start and pass the health gate; a rollback runs with the JIT on.`);
  out.push(...stepRows(profile));

  // 5: scaling
  out.push("", "## 5. Scaling", "", "Apps of 1 service each, so that 200 apps stay within this machine's means.", "");
  out.push(row(["apps", "Konta idle tick", "baseline idle tick", "Konta deploy (push → serving)", "baseline deploy (push → serving)"]), row(["---", "---", "---", "---", "---"]));
  const series: { apps: number; kontaIdle: number; baseIdle: number; kontaDeploy: number; baseDeploy: number }[] = [];
  for (const apps of QUICK ? [1, 10, 50] : [1, 10, 50, 200]) {
    const runs = apps >= 200 ? 3 : RUNS;
    const s = await setup(apps, 1);
    const i = await idle(s, runs);
    const d = await deploy(s, runs);
    const point = {
      apps,
      kontaIdle: stats(i.konta.map((x) => x.wallMs)).median,
      baseIdle: stats(i.baseline.map((x) => x.wallMs)).median,
      kontaDeploy: stats(d.konta.map((x) => x.toServingMs)).median,
      baseDeploy: stats(d.baseline.map((x) => x.toServingMs)).median,
    };
    series.push(point);
    out.push(row([apps, fmtMs(point.kontaIdle), fmtMs(point.baseIdle), fmtMs(point.kontaDeploy), fmtMs(point.baseDeploy)]));
    await teardown();
  }
  renderChart(series, join(ROOT, "bench/scaling.svg"), join(ROOT, "bench/scaling.png"));
  out.push("", "![Scaling: idle tick and deploy time against the number of apps](scaling.png)");

  const load = await benchComposeLoad(RUNS * 2);
  out.push("", "## 6. Compose loader", "", `Loading 50 projects of 5 services each (in process, after one warm-up): median ${fmtMs(load.median)} (${fmtMs(load.min)}–${fmtMs(load.max)}), ${load.n} runs.`);
  targets.push({ what: "load 50 projects × 5 services", target: "< 150 ms", value: fmtMs(load.median), met: load.median < 150 });

  // 7: the 512 MB WordPress run, a run of its own (bench/wordpress-512.ts, ~40 min): its last figures
  const wp512 = join(ROOT, "bench/wordpress-512.json");
  if (existsSync(wp512)) {
    const r = JSON.parse(readFileSync(wp512, "utf8")) as Wordpress512;
    out.push("", ...wordpress512Section(r));
    targets.push({ what: `WordPress in 512 MB, ${r.commits} commits: OOM kills, max run peak RSS`, target: "none, ≤ 50 MB", value: `${r.oomKills}, ${fmtMb(r.konta.all.maxKb)}`, met: r.oomKills === 0 && r.konta.all.maxKb <= 50 * 1024, gap: "§7, §4c" });
  }

  const header = [
    "# Benchmark results",
    "",
    "Written by `bun run bench` (bench/run.ts) in one run; do not edit by hand. Medians of several runs after a warm-up, min–max in brackets.",
    "",
    `- date: ${new Date().toISOString()}${QUICK ? " (quick run)" : ""}`,
    `- machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM`,
    `- konta: ${version([BIN, "version"])}`,
    `- Docker engine: ${version(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"])}, storage driver ${version(["docker", "info", "--format", "{{.Driver}}"])}`,
    `- baseline: Docker Compose ${version(["docker", "compose", "version", "--short"])}, ${version(["git", "--version"])}`,
    "- every binary measured as installed: its cached pages dropped at the start, as install.sh, the .deb and self-update do for Konta (§4 gives `konta version` from a binary just written)",
    "",
    "## Targets",
    "",
    row(["what", "target", "measured", ""]),
    row(["---", "---", "---", "---"]),
    ...targets.map((t) => row([t.what, t.target, t.value, t.met ? "met" : t.gap ? `**missed**; where it goes: ${t.gap}` : "**missed**"])),
    "",
  ];
  const footer = ["", "How to read these numbers, and notes from profiling (with numbers of their own, labelled): [NOTES.md](NOTES.md)."];
  writeFileSync(join(ROOT, "bench/RESULTS.md"), `${[...header, ...out, ...footer].join("\n")}\n`);
  console.log(readFileSync(join(ROOT, "bench/RESULTS.md"), "utf8"));
}

/** The idle tick at `apps` apps over HTTP (a token) and over SSH (a deploy key), one after the other on the same engine. */
async function idleHttpVsSsh(apps: number, runs: number): Promise<{ http: Sample[]; ssh: Sample[] }> {
  const out: Partial<Record<"http" | "ssh", Sample[]>> = {};
  for (const transport of ["http", "ssh"] as const) {
    const s = await setup(apps, 3, true, {}, transport);
    out[transport] = await repeat(runs, 1, async () => {
      const r = await measure(konta(s, "sync"));
      if (r.code !== 0 || !r.output.includes("up to date")) throw new Error(`idle konta sync over ${transport} did not say up to date:\n${r.output}`);
      return r;
    });
    await teardown();
  }
  return out as { http: Sample[]; ssh: Sample[] };
}

function sshRows(r: { http: Sample[]; ssh: Sample[] }): string[] {
  return [
    row(["transport", "wall, median (min–max)", "peak RSS, median (min–max)"]),
    row(["---", "---", "---"]),
    ...(["http", "ssh"] as const).map((t) => row([t === "http" ? "HTTP, token" : "SSH, deploy key (OpenSSH client)", fmtStats(stats(r[t].map((x) => x.wallMs))), fmtStats(stats(r[t].map((x) => x.peakRssKb)), fmtMb)])),
  ];
}

/**
 * The order in which Konta's functions run, written by Bun: an idle tick at 50 apps, then a
 * one-change deploy and one with an empty compose cache, each a file (most important first, as
 * packaging/build.sh passes them), so what a deploy adds is laid out together after the tick's code.
 */
async function writeBytecodeOrder(): Promise<void> {
  await ready();
  const s = await setup(50, 3);
  for (const f of ORDER_FILES) rmSync(f, { force: true });
  const r = await measure(konta(s, "sync"), { BUN_BYTECODE_ORDER_OUT: ORDER_FILES[0] });
  if (r.code !== 0) throw new Error(`idle tick failed:\n${r.output}`);
  await deployOnce(s, "konta");
  await deployOnce(s, "konta", false, { BUN_BYTECODE_ORDER_OUT: ORDER_FILES[1] });
  await deployOnce(s, "konta", true, { BUN_BYTECODE_ORDER_OUT: ORDER_FILES[2] });
  const missing = ORDER_FILES.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`no order file written: ${missing.join(", ")}`);
  console.log(`wrote ${ORDER_FILES.join(", ")}; rebuild (bun run build) to use them`);
}

/** Konta's runs that have memory or time targets, printed; RESULTS.md is left alone. */
async function probe(): Promise<void> {
  await ready();
  const s = await setup(50, 3);
  const version = await repeat(3, 1, () => measure([BIN, "version"]));
  console.log(`konta version: peak RSS ${version.map((x) => fmtMb(x.peakRssKb)).join(", ")}`);
  const tick = await repeat(5, 1, () => measure(konta(s, "sync")));
  console.log(`idle tick at 50 apps: peak RSS ${tick.map((x) => fmtMb(x.peakRssKb)).join(", ")}; wall ${tick.map((x) => fmtMs(x.wallMs)).join(", ")}`);
  await deployOnce(s, "konta");
  const d: DeploySample[] = [];
  for (let i = 0; i < 3; i++) d.push(await deployOnce(s, "konta"));
  console.log(`deploy at 50 apps: peak RSS ${d.map((x) => fmtMb(x.peakRssKb)).join(", ")}; overhead ${d.map((x) => fmtMs(x.toServingMs - x.engineStartMs)).join(", ")}`);
  console.log(phaseRows([["deploy", d.flatMap((x) => x.phases ?? [])]]).join("\n"));
  const cold: DeploySample[] = [];
  for (let i = 0; i < 3; i++) cold.push(await deployOnce(s, "konta", true));
  console.log(`deploy with an empty compose cache: peak RSS ${cold.map((x) => fmtMb(x.peakRssKb)).join(", ")}; overhead ${cold.map((x) => fmtMs(x.toServingMs - x.engineStartMs)).join(", ")}`);
  if (process.argv.includes("--quick")) return teardown();
  const r = await rollbacks(s, 3);
  console.log(`rollback until serving: ${r.toServing.map(fmtMs).join(", ")}; whole command ${r.tool.map(fmtMs).join(", ")}`);
  console.log(phaseRows([["rollback", r.phases]]).join("\n"));
  await teardown();
  const first = await firstDeploy(50, 1);
  console.log(`first deploy of 50 apps: ${first.konta.map((x) => `${fmtMs(x.wallMs)}, peak RSS ${fmtMb(x.peakRssKb)}`).join("; ")} (baseline ${first.baseline.map((x) => fmtMs(x.wallMs)).join(", ")})`);
  const large = await largeRepository(2000, 32, 1);
  console.log(`large repository first sync: peak RSS ${large.map((x) => fmtMb(x.peakRssKb)).join(", ")}`);
}

const STATUS_PASSWORD = "bench-status-password";

/**
 * The status routes at `apps` apps: one `konta webhook` process answering GET / (and /metrics) as
 * the socket unit runs it, and the idle tick with and without metrics.textfile_dir, alternated.
 */
async function statusCost(apps: number, runs: number): Promise<{ page: Sample[]; metrics: Sample[]; tickPlain: Sample[]; tickTextfile: Sample[] }> {
  const s = await setup(apps, 3);
  writeFileSync(s.config, `${readFileSync(s.config, "utf8")}status:\n  password: ${STATUS_PASSWORD}\n`);
  const auth = Buffer.from(`bench:${STATUS_PASSWORD}`).toString("base64");
  const get = (path: string) => async () => {
    const r = await measure(["bash", "-c", `printf 'GET ${path} HTTP/1.1\\r\\nAuthorization: Basic ${auth}\\r\\n\\r\\n' | "$@"`, "get", ...konta(s, "webhook")]);
    if (!r.output.startsWith("HTTP/1.1 200 ")) throw new Error(`GET ${path} did not answer 200:\n${r.output.slice(0, 500)}`);
    return r;
  };
  const page = await repeat(runs, 1, get("/"));
  const metrics = await repeat(runs, 1, get("/metrics"));
  const textfiles = join(work, `textfile${s.id}`);
  sh("mkdir", ["-p", textfiles]);
  const plain = readFileSync(s.config, "utf8");
  const withTextfile = `${plain}metrics:\n  textfile_dir: ${textfiles}\n`;
  const tickPlain: Sample[] = [];
  const tickTextfile: Sample[] = [];
  for (let i = 0; i <= runs; i++) {
    for (const [text, into] of [[plain, tickPlain], [withTextfile, tickTextfile]] as const) {
      writeFileSync(s.config, text);
      const r = await measure(konta(s, "sync"));
      if (r.code !== 0 || !r.output.includes("up to date")) throw new Error(`idle konta sync did not say up to date:\n${r.output}`);
      // the first of each (the config cache rebuilt) is the warm-up
      if (i > 0) into.push(r);
    }
  }
  if (!existsSync(join(textfiles, "konta.prom"))) throw new Error("no konta.prom written");
  await teardown();
  return { page, metrics, tickPlain, tickTextfile };
}

function statusRows(r: Awaited<ReturnType<typeof statusCost>>): string[] {
  const w = (x: Sample[]) => fmtStats(stats(x.map((y) => y.wallMs)));
  const m = (x: Sample[]) => fmtStats(stats(x.map((y) => y.peakRssKb)), fmtMb);
  return [
    row(["request or run", "wall, median (min–max)", "peak RSS, median (min–max)"]),
    row(["---", "---", "---"]),
    row(["`GET /` (the HTML page), one `konta webhook` process", w(r.page), m(r.page)]),
    row(["`GET /metrics`, one `konta webhook` process", w(r.metrics), m(r.metrics)]),
    row(["idle tick", w(r.tickPlain), m(r.tickPlain)]),
    row(["idle tick writing konta.prom (metrics.textfile_dir)", w(r.tickTextfile), m(r.tickTextfile)]),
  ];
}

async function statusOnly(): Promise<void> {
  await ready();
  const r = await statusCost(50, RUNS);
  console.log(statusRows(r).join("\n"));
  const added = stats(r.tickTextfile.map((x) => x.wallMs)).median - stats(r.tickPlain.map((x) => x.wallMs)).median;
  console.log(`textfile adds ${fmtMs(added)} to the idle tick (medians)`);
}

/** Only the rows of §4b and §4c, printed. */
async function memoryOnly(): Promise<void> {
  await ready();
  const { rows, headRequest } = await memoryProfile(3);
  console.log([...memoryRows(rows), "", `GET info/refs by the bench: ${fmtStats(headRequest)}`, ...stepRows(rows)].join("\n"));
}

/** Only the SSH row, printed. */
async function sshOnly(): Promise<void> {
  await ready();
  console.log(sshRows(await idleHttpVsSsh(50, RUNS)).join("\n"));
}

try {
  const mode = process.argv.includes("--bytecode-order")
    ? writeBytecodeOrder
    : process.argv.includes("--probe")
      ? probe
      : process.argv.includes("--ssh")
        ? sshOnly
        : process.argv.includes("--status")
          ? statusOnly
          : process.argv.includes("--memory")
            ? memoryOnly
            : main;
  await mode();
} finally {
  await sshd?.close();
  await git.close();
  await cleanup();
  await engine(`/networks/${NETWORK}`, { method: "DELETE" }).catch(() => {});
  for (const repo of repos) repo.dispose();
  rmSync(work, { recursive: true, force: true });
}
