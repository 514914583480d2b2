// Measurement helpers for bench/: wall time and peak RSS of a command (GNU time), statistics,
// and generated repositories of N apps.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE } from "../tests/support/docker.ts";

export interface Sample {
  wallMs: number;
  peakRssKb: number;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, n: sorted.length };
}

/** Run a command under /usr/bin/time; asynchronous so the in-process Git server keeps answering. */
export async function measure(cmd: string[], env: Record<string, string> = {}): Promise<Sample & { code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "konta-bench-time-"));
  const out = join(dir, "time");
  try {
    const started = performance.now();
    const proc = Bun.spawn(["/usr/bin/time", "-o", out, "-f", "%M", ...cmd], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const wallMs = performance.now() - started;
    const peakRssKb = Number(readFileSync(out, "utf8").trim().split("\n").at(-1));
    return { wallMs, peakRssKb, code, output: stdout + stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Warm up, then `runs` measured runs. */
export async function repeat<T extends Sample>(runs: number, warmup: number, fn: () => Promise<T>): Promise<T[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: T[] = [];
  for (let i = 0; i < runs; i++) samples.push(await fn());
  return samples;
}

export const NETWORK = "konta-bench";

/** An app of `services` services on the shared bench network (a default engine has room for ~31 networks). */
export function appCompose(app: string, services: number, version = 1): string {
  const lines = ["services:"];
  for (let i = 0; i < services; i++) {
    const web = i === 0;
    lines.push(
      `  s${i}:`,
      `    image: ${IMAGE}`,
      "    init: true",
      web ? `    command: ["sh", "-c", "echo ${app} v${version} > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]` : '    command: ["sleep", "86400"]',
      "    labels:",
      // the baseline's copies of the apps must not look like Konta's (a host runs its apps once)
      '      konta.managed: "${KONTA_BENCH_MANAGED:-true}"',
      "      konta-bench: \"1\"",
      ...(web ? ["    environment:", `      VERSION: "${version}"`] : []),
    );
  }
  lines.push("networks:", "  default:", `    name: ${NETWORK}`, "    external: true", "");
  return lines.join("\n");
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function fmtMb(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MB`;
}

interface RssFigure {
  runs: number;
  medianKb: number;
  maxKb: number;
}

/** What bench/wordpress-512.ts writes to bench/wordpress-512.json. */
export interface Wordpress512 {
  date: string;
  commit: string;
  commits: number;
  kinds: { settings: number; image: number; broken: number };
  minutes: number;
  oomKills: number;
  konta: { all: RssFigure; deploys: RssFigure; failed: RssFigure; idle: RssFigure };
  boxAnonKb: { median: number; max: number };
  recoveryMs: Stats;
}

/** The RESULTS.md section of the 512 MB WordPress run (printed by the run itself too). */
export function wordpress512Section(r: Wordpress512): string[] {
  const rss = (what: string, f: RssFigure) => `| ${what} | ${f.runs} | ${fmtMb(f.medianKb)} | ${fmtMb(f.maxKb)} |`;
  return [
    "## 7. WordPress on a 512 MB server",
    "",
    `\`bun bench/wordpress-512.ts\` (a run of its own, ${r.minutes} min; ${r.date.slice(0, 10)}, Konta at ${r.commit}): examples/wordpress (MariaDB and WordPress built from Debian's packages) in a server box limited to 512 MB of memory and swap, Konta installed by install.sh and run by konta.timer every 10 s, the Git server outside the box. ${r.commits} commits in a row: ${r.kinds.settings} settings changes, ${r.kinds.image} image updates, ${r.kinds.broken} images that cannot start (each rolled back). After every commit the blog's post was served and no process had been OOM-killed (${r.oomKills} OOM kills in all). Peak RSS is each run's own (ru_maxrss, as Konta records it in its state and history).`,
    "",
    "| runs | count | Konta peak RSS, median | max |",
    "| --- | --- | --- | --- |",
    ...([
      ["every run", r.konta.all],
      ["deploys", r.konta.deploys],
      ["failed deploys (rolled back)", r.konta.failed],
      // a commit followed each deploy at once: the one-second poll sees few idle ticks
      ["idle ticks seen", r.konta.idle],
    ] as const).flatMap(([what, f]) => (f.runs ? [rss(what, f)] : [])),
    "",
    `The box's anonymous memory (MariaDB, WordPress, the engine, systemd, Konta; page cache not counted), sampled every second: median ${fmtMb(r.boxAnonKb.median)}, max ${fmtMb(r.boxAnonKb.max)}.`,
    "",
    `Disaster recovery on a new 512 MB server (install.sh, the same repository, the passwords and the last dump; the images already on it): from install.sh until the post is served, ${fmtMs(r.recoveryMs.median)} (${fmtMs(r.recoveryMs.min)}–${fmtMs(r.recoveryMs.max)}), ${r.recoveryMs.n} runs.`,
  ];
}
