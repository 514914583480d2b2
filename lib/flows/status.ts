// `konta status`: what is live, what the last run did, held or failed commits, every managed
// service with its state, health, image and uptime, drift (containers that no longer match the
// live release) and the recent history. Read-only: it takes no lock and changes nothing. The one
// read model of `konta status --json`, the status page, /status.json and the metrics.
import { errorMessage, KontaError } from "../base/errors.ts";
import type { DriftItem, NodeStatus, ServiceStatus, TargetName } from "../targets/index.ts";
import { keyFingerprint } from "../git/ssh.ts";
import { parseSshUrl } from "../git/url.ts";
import { redact } from "../base/redact.ts";
import type { Runtime } from "./runtime.ts";
import { type Attempt, type DeployRecord, type ImageUpdates, readState, type Waiting } from "../state/index.ts";
import { nextWindowText, windowNow } from "./window.ts";
import { type HistoryEntry, type HistoryKind, readHistory } from "../history/index.ts";
import { COMMIT, VERSION } from "../base/version.ts";
import { instanceLabel } from "../base/instances.ts";
import { type InstanceOverview, instancesOverview } from "./instances.ts";

export type { ContainerStatus, ServiceStatus } from "../targets/index.ts";

export interface StatusReport {
  /** transport: how Git is reached; key_fingerprint: the deploy key's SHA256 (SSH), never the key */
  repository: { url: string; branch: string; path: string; transport: "https" | "http" | "ssh"; key_fingerprint?: string; tag?: string; verify?: "head" | "tag" };
  live?: DeployRecord;
  lastAttempt?: Attempt;
  held?: { sha: string; since: string };
  failed?: { sha: string; at: string; error: string };
  /** sync.windows: the windows, whether one is open, and when the next opens (the text in the windows' time zone) */
  window?: { windows: string[]; timezone?: string; open: boolean; opensAt?: string; opens?: string };
  /** a commit checked and planned outside the windows, waiting for the next */
  waiting?: Waiting & { opens: string };
  projects: { name: string; services: ServiceStatus[] }[];
  drift: DriftItem[];
  engine?: { version: string; api: string };
  target: TargetName;
  /** what the engine is to the target, when it is more than an engine ("a Swarm manager (deploy.target: swarm)") */
  targetRole?: string;
  /** a swarm's nodes */
  nodes?: NodeStatus[];
  engineError?: string;
  /** what the config says that Konta does not use (keys of the original Konta, a plain-text token) */
  configWarnings: string[];
  imageUpdates?: ImageUpdates;
  /** the newest entries of the deploy history, newest first */
  history: HistoryEntry[];
  /** runs of each kind since state began */
  totals: Partial<Record<HistoryKind, number>>;
  konta: { version: string; commit: string };
  generatedAt: string;
  /** this instance's name, and every instance of the server when there is more than one */
  instance: string;
  instances?: InstanceOverview[];
}

export interface StatusOptions {
  /** history entries to include (default 20) */
  history?: number;
  /**
   * inspect every container for its start time (exact uptime); without it the engine's listing
   * alone answers (one request: the page and the metrics' textfile after a run)
   */
  inspect?: boolean;
}

export async function status(rt: Runtime, opts: StatusOptions = {}): Promise<StatusReport> {
  const { state } = readState(rt.paths.state);
  const live = rt.store.current();
  const report: StatusReport = {
    konta: { version: VERSION, commit: COMMIT },
    generatedAt: new Date().toISOString(),
    repository: repositoryStatus(rt),
    ...(state.current && state.current.sha === live ? { live: state.current } : live ? { live: { sha: live, message: "", author: "", date: "", deployedAt: "", trigger: "sync", durationMs: 0 } } : {}),
    ...(state.lastAttempt ? { lastAttempt: state.lastAttempt } : {}),
    ...(state.hold ? { held: { sha: state.hold.sha, since: state.hold.since } } : {}),
    ...(state.failed ? { failed: state.failed } : {}),
    ...windowStatus(rt, state.waiting),
    projects: [],
    drift: [],
    configWarnings: rt.config.warnings,
    target: rt.config.deploy.target,
    ...(rt.target().role ? { targetRole: rt.target().role } : {}),
    ...(state.imageUpdates ? { imageUpdates: state.imageUpdates } : {}),
    history: readHistory(rt.paths.history, opts.history ?? 20),
    totals: state.totals ?? {},
    instance: instanceLabel(rt.ref),
  };
  const all = await instancesOverview(rt.family);
  if (all.length > 1) report.instances = all;
  let docker;
  try {
    docker = await rt.docker();
  } catch (err) {
    report.engineError = err instanceof KontaError ? err.message : errorMessage(err);
    return report;
  }
  report.engine = { version: docker.engineVersion, api: docker.apiVersion };
  const driftOpts = { prune: rt.config.deploy.prune_removed_apps, hostInputs: (project: string) => (live ? rt.hostInputs(live, project) : ""), instance: rt.instance };
  const t = await rt.target().status(docker, state.expected, driftOpts, { inspect: opts.inspect });
  report.projects = t.projects;
  report.drift = t.drift;
  if (t.nodes) report.nodes = t.nodes;
  return report;
}

/** What a service is doing against what it should: "2/2 running", "stopped (konta.stopped)", "completed (job)". */
export function serviceProgress(svc: ServiceStatus): { text: string; ok: boolean } {
  if (svc.stopped) return { text: "stopped (konta.stopped)", ok: true };
  if (svc.completed !== undefined) return { text: `${svc.completed}/${svc.replicas} completed (job)`, ok: svc.completed >= svc.replicas };
  const running = svc.containers.filter((c) => c.state === "running").length;
  if (svc.job && svc.containers.length && svc.containers.every((c) => c.state === "exited" && /^Exited \(0\)/.test(c.status ?? "Exited (0)"))) return { text: "completed (job)", ok: true };
  return { text: `${running}/${svc.replicas} running`, ok: running >= svc.replicas && svc.replicas > 0 };
}

function windowStatus(rt: Runtime, waiting: Waiting | undefined): Pick<StatusReport, "window" | "waiting"> {
  const sync = rt.config.sync;
  const w = windowNow(sync);
  if (!w) return {};
  const opensAt = w.opensAt?.toISOString();
  return {
    window: { windows: sync.windows, ...(sync.timezone ? { timezone: sync.timezone } : {}), open: w.open, ...(opensAt ? { opensAt, opens: nextWindowText(sync, opensAt) } : {}) },
    ...(waiting ? { waiting: { ...waiting, opens: w.open ? "the next run (the deploy window is open)" : nextWindowText(sync, opensAt) } } : {}),
  };
}

function repositoryStatus(rt: Runtime): StatusReport["repository"] {
  const r = rt.config.repository;
  const base = { url: redact(r.url), branch: r.branch, path: r.path, ...(r.tag ? { tag: r.tag } : {}), ...(r.verify ? { verify: r.verify.mode } : {}) };
  if (!parseSshUrl(r.url)) return { ...base, transport: r.url.startsWith("http://") ? "http" : "https" };
  const fp = keyFingerprint(r.ssh_key_file);
  return { ...base, transport: "ssh", ...(fp ? { key_fingerprint: fp } : {}) };
}
