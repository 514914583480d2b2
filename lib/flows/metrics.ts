// The status read model (status.ts) in Prometheus' text exposition format: served on GET /metrics
// by `konta webhook` and, with metrics.textfile_dir set, written after every run to konta.prom for
// node_exporter's textfile collector. Pure rendering; the names are in README "Metrics".
import { join } from "node:path";
import { writeFileAtomic } from "../base/fsutil.ts";
import { errorMessage } from "../base/errors.ts";
import { log } from "../base/log.ts";
import type { HistoryEntry, HistoryKind } from "../history/index.ts";
import type { Runtime } from "./runtime.ts";
import { serviceProgress, type StatusReport } from "./status.ts";

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

const KINDS: HistoryKind[] = ["deploy", "rollback", "repair", "image-update", "failure", "resume", "waiting"];

const COUNTERS: [name: string, kind: HistoryKind, help: string][] = [
  ["konta_deploys_total", "deploy", "New commits deployed."],
  ["konta_rollbacks_total", "rollback", "Manual rollbacks (konta rollback)."],
  ["konta_failures_total", "failure", "Runs that failed (a failed deploy is rolled back)."],
  ["konta_repairs_total", "repair", "Drift repairs of the live release."],
  ["konta_image_updates_total", "image-update", "Image updates of followed tags (konta.image-updates)."],
];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function seconds(iso: string | undefined): number | undefined {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(t) ? undefined : t / 1000;
}

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: "gauge" | "counter", help: string, samples: Sample[] | number): void {
    const list: Sample[] = typeof samples === "number" ? [[{}, samples]] : samples;
    if (!list.length) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of list) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      this.lines.push(`${name}${l.length ? `{${l.join(",")}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/** Per service of the live release: its containers as the metrics count them. */
function serviceCounts(s: StatusReport): { managed: number; running: number; unhealthy: number; drifted: number } {
  let managed = 0;
  let running = 0;
  let unhealthy = 0;
  for (const p of s.projects) {
    for (const svc of p.services) {
      managed++;
      if (!svc.stopped && serviceProgress(svc).ok) running++;
      if (svc.containers.some((c) => c.health === "unhealthy")) unhealthy++;
    }
  }
  const drifted = new Set(s.drift.map((d) => `${d.project}/${d.service ?? ""}`)).size;
  return { managed, running, unhealthy, drifted };
}

export function renderMetrics(s: StatusReport): string {
  const m = new Exposition();
  m.metric("konta_up", "gauge", "1: Konta read its state and reached the engine; 0: the engine did not answer.", s.engineError ? 0 : 1);
  m.metric("konta_build_info", "gauge", "The Konta build that answered.", [[{ version: s.konta.version, commit: s.konta.commit }, 1]]);
  if (s.live) {
    m.metric("konta_live_release_info", "gauge", "The live release: its commit, as a label.", [[{ sha: s.live.sha, branch: s.repository.branch }, 1]]);
    const at = seconds(s.live.deployedAt);
    if (at !== undefined) m.metric("konta_live_release_timestamp_seconds", "gauge", "When the live release went live.", at);
  }
  const a = s.lastAttempt;
  if (a) {
    m.metric("konta_last_run_timestamp_seconds", "gauge", "When the last konta sync or rollback ended.", seconds(a.at) ?? 0);
    m.metric("konta_last_run_duration_seconds", "gauge", "How long the last run took.", a.durationMs / 1000);
    if (a.peakRssBytes) m.metric("konta_last_run_peak_rss_bytes", "gauge", "The last run's peak resident memory (ru_maxrss).", a.peakRssBytes);
    m.metric("konta_last_run_success", "gauge", "1 unless the last run failed.", a.result === "failed" ? 0 : 1);
    m.metric("konta_last_run_result", "gauge", "The last run's result, as a label.", [[{ result: a.result }, 1]]);
  }
  // the newest entry of each kind in the history
  const newest = new Map<HistoryKind, HistoryEntry>();
  for (const e of s.history) if (!newest.has(e.kind)) newest.set(e.kind, e);
  const byKind = (f: (e: HistoryEntry) => number): Sample[] => KINDS.flatMap((k) => (newest.has(k) ? [[{ kind: k }, f(newest.get(k) as HistoryEntry)] as Sample] : []));
  m.metric("konta_last_timestamp_seconds", "gauge", "When the newest run of each kind in the history started.", byKind((e) => seconds(e.lastAt ?? e.at) ?? 0));
  m.metric("konta_last_duration_seconds", "gauge", "How long the newest run of each kind took.", byKind((e) => e.durationMs / 1000));
  m.metric("konta_last_success", "gauge", "1 unless the newest run of each kind failed.", byKind((e) => (e.result === "failed" ? 0 : 1)));
  for (const [name, kind, help] of COUNTERS) m.metric(name, "counter", help, s.totals[kind] ?? 0);
  const c = serviceCounts(s);
  m.metric("konta_services_managed", "gauge", "Managed services of the live release.", c.managed);
  m.metric("konta_services_running", "gauge", "Managed services with every replica running (a finished job counts).", c.running);
  m.metric("konta_services_unhealthy", "gauge", "Managed services with a container whose healthcheck fails.", c.unhealthy);
  m.metric("konta_services_drifted", "gauge", "Managed services that no longer match the live release (the next sync repairs them).", c.drifted);
  m.metric("konta_hold", "gauge", "1 while konta rollback holds timer runs at a release.", s.held ? 1 : 0);
  m.metric("konta_failed_commit", "gauge", "1 while a failed commit waits for a new one (or konta sync --now).", s.failed ? 1 : 0);
  if (s.window) {
    m.metric("konta_deploy_window_open", "gauge", "1 while a deploy window (sync.windows) is open.", s.window.open ? 1 : 0);
    m.metric("konta_waiting_commit", "gauge", "1 while a checked commit waits for the deploy window.", s.waiting ? 1 : 0);
    const opens = seconds(s.waiting?.opensAt ?? s.window.opensAt);
    if (!s.window.open && opens !== undefined) m.metric("konta_deploy_window_opens_timestamp_seconds", "gauge", "When the next deploy window opens.", opens);
  }
  if (s.instances) {
    const each = (f: (i: NonNullable<StatusReport["instances"]>[number]) => number): Sample[] => (s.instances ?? []).map((i) => [{ instance: i.name }, f(i)]);
    m.metric("konta_instance_info", "gauge", "Every Konta instance of this server: its live commit and branch, as labels.", (s.instances ?? []).map((i) => [{ instance: i.name, sha: i.live ?? "", branch: i.repository?.branch ?? "" }, 1]));
    m.metric("konta_instance_projects", "gauge", "Projects each instance deploys.", each((i) => i.projects.length));
    m.metric("konta_instance_hold", "gauge", "1 while konta rollback holds the instance.", each((i) => (i.held ? 1 : 0)));
    m.metric("konta_instance_failed_commit", "gauge", "1 while a failed commit waits in the instance.", each((i) => (i.failed ? 1 : 0)));
  }
  if (s.imageUpdates?.checkedAt) m.metric("konta_image_check_timestamp_seconds", "gauge", "When the registries of followed tags were last checked.", seconds(s.imageUpdates.checkedAt) ?? 0);
  return m.text();
}

/** metrics.textfile_dir: konta.prom for node_exporter, written atomically after every run. */
export async function writeTextfile(rt: Runtime): Promise<void> {
  const dir = rt.config.metrics?.textfile_dir;
  if (!dir) return;
  try {
    const { status } = await import("./status.ts");
    writeFileAtomic(join(dir, "konta.prom"), renderMetrics(await status(rt, { inspect: false, history: 50 })), 0o644);
  } catch (err) {
    log.warn(`metrics: could not write ${join(dir, "konta.prom")} (${errorMessage(err)})`);
  }
}
