// `konta status`: what is live, what the last run did, held or failed commits, every managed
// service with its state, health, image and uptime, drift (containers that no longer match the
// live release) and the recent history. Read-only: it takes no lock and changes nothing. The one
// read model of `konta status --json`, the status page, /status.json and the metrics.
import { errorMessage, KontaError } from "../base/errors.ts";
import { inspectContainer } from "../docker/engine.ts";
import { detectDrift } from "../targets/engine/drift.ts";
import type { DriftItem } from "../targets/index.ts";
import { observeContainers } from "../targets/engine/observe.ts";
import { keyFingerprint } from "../git/ssh.ts";
import { parseSshUrl } from "../git/url.ts";
import { redact } from "../base/redact.ts";
import type { Runtime } from "./runtime.ts";
import { type Attempt, type DeployRecord, type ImageUpdates, readState } from "../state/index.ts";
import { type HistoryEntry, type HistoryKind, readHistory } from "../history/index.ts";
import { COMMIT, VERSION } from "../base/version.ts";
import { instanceLabel } from "../base/instances.ts";
import { type InstanceOverview, instancesOverview } from "./instances.ts";
import { collate } from "../base/collate.ts";

export interface ContainerStatus {
  name: string;
  state: string;
  /** swarm target: the node the task runs on */
  node?: string;
  error?: string;
  health?: string;
  /** the engine's words ("Up 3 hours (healthy)"); a listing without inspect has only these */
  status?: string;
  startedAt?: string;
  uptimeSeconds?: number;
}

export interface ServiceStatus {
  name: string;
  image: string;
  replicas: number;
  stopped: boolean;
  /** swarm target, a job: its tasks completed so far (of `replicas`) */
  completed?: number;
  /** a one-shot job (a migration): done once its container exited 0 */
  job?: boolean;
  /** swarm target: the containers are the service's tasks */
  containers: ContainerStatus[];
}

export interface StatusReport {
  /** transport: how Git is reached; key_fingerprint: the deploy key's SHA256 (SSH), never the key */
  repository: { url: string; branch: string; path: string; transport: "https" | "http" | "ssh"; key_fingerprint?: string };
  live?: DeployRecord;
  lastAttempt?: Attempt;
  held?: { sha: string; since: string };
  failed?: { sha: string; at: string; error: string };
  projects: { name: string; services: ServiceStatus[] }[];
  drift: DriftItem[];
  engine?: { version: string; api: string };
  target: "engine" | "swarm";
  /** swarm target: the cluster's nodes */
  nodes?: { name: string; role: string; state: string; availability: string; leader?: boolean }[];
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
    projects: [],
    drift: [],
    configWarnings: rt.config.warnings,
    target: rt.config.deploy.target,
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
  if (rt.config.deploy.target === "swarm") {
    const [{ swarmStatus }, { swarmDrift }, { observeServices }] = await Promise.all([import("../targets/swarm/status.ts"), import("../targets/swarm/drift.ts"), import("../targets/swarm/stack.ts")]);
    const [cluster, services] = await Promise.all([swarmStatus(docker, state.expected), observeServices(docker)]);
    report.drift = swarmDrift(state.expected, services, driftOpts);
    report.nodes = cluster.nodes;
    report.projects = cluster.projects.map((p) => ({
      name: p.name,
      services: p.services.map((s) => ({ name: s.name, image: s.image, replicas: s.desired, stopped: s.stopped, ...(s.completed !== undefined ? { completed: s.completed } : {}), containers: s.tasks })),
    }));
    return report;
  }
  const containers = await observeContainers(docker);
  report.drift = detectDrift(state.expected, containers, driftOpts);
  for (const [project, exp] of Object.entries(state.expected).sort(([a], [b]) => collate(a, b))) {
    const services: ServiceStatus[] = [];
    for (const [name, target] of Object.entries(exp.services).sort(([a], [b]) => collate(a, b))) {
      const mine = containers.filter((c) => c.project === project && c.service === name && c.managed).sort((a, b) => a.number - b.number);
      const details = await Promise.all(
        mine.map(async (c): Promise<ContainerStatus> => {
          const listed = { name: c.name, state: c.state, ...(c.health ? { health: c.health } : {}), status: c.status };
          if (opts.inspect === false) return listed;
          const info = await inspectContainer(docker, c.id);
          const startedAt = info?.State.Running ? info.State.StartedAt : undefined;
          return {
            ...listed,
            ...(info?.State.Health ? { health: info.State.Health.Status } : {}),
            ...(startedAt ? { startedAt, uptimeSeconds: Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) } : {}),
          };
        }),
      );
      services.push({ name, image: target.image, replicas: target.replicas, stopped: target.stopped, ...(target.job ? { job: true } : {}), containers: details });
    }
    report.projects.push({ name: project, services });
  }
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

function repositoryStatus(rt: Runtime): StatusReport["repository"] {
  const r = rt.config.repository;
  const base = { url: redact(r.url), branch: r.branch, path: r.path };
  if (!parseSshUrl(r.url)) return { ...base, transport: r.url.startsWith("http://") ? "http" : "https" };
  const fp = keyFingerprint(r.ssh_key_file);
  return { ...base, transport: "ssh", ...(fp ? { key_fingerprint: fp } : {}) };
}
