// The port every target implements (Target), and the words it and the flows share: what a release
// is, how a deploy goes (DeployOptions), what a plan looks like to a reader (PlanView), what a
// failure touched, drift, status. Neither target is imported here: flows and the CLI know only this.
import type { LoadedProject, LoadOptions } from "../compose/index.ts";
import type { DockerClient } from "../docker/client.ts";
import type { Summary } from "../base/summary.ts";
import type { InputError } from "../base/errors.ts";
import type { ProjectExpectation, ReleaseImages } from "../state/index.ts";

export type TargetName = "engine" | "swarm";

export interface ReleaseRef {
  sha: string;
  /** folder holding apps/ and hooks/ */
  root: string;
  load: LoadOptions;
}

export interface DeployOptions {
  docker: DockerClient;
  parallel: number;
  gate: GateOptions;
  pruneRemovedApps: boolean;
  /** what the last successful deploy left (state.expected): which services are known jobs */
  prior?: Record<string, ProjectExpectation>;
  /** deploy.allow_privileged: false: no `container:` reference to a container Konta does not manage */
  restricted?: boolean;
  createExternalNetworks?: boolean;
  /** this Konta instance (repository, branch, path): only what it created is pruned */
  instance?: string;
  /**
   * where the engine target writes down each create before it is sent, and reads what a killed
   * run left there (unset: a plan or dry run, which changes nothing)
   */
  journal?: string;
}

/** The health gate after an apply. */
export interface GateOptions {
  timeoutMs: number;
  /** a container without healthcheck must stay up this long without restarting (the engine target) */
  minUptimeMs: number;
  pollMs?: number;
}

export interface DriftItem {
  project: string;
  service?: string;
  what: string;
}

export interface DriftOptions {
  /** deploy.prune_removed_apps: a removed app still running is drift */
  prune: boolean;
  /** the digest of a project's host-side inputs now */
  hostInputs?: (project: string) => string;
  instance?: string;
}

/**
 * A plan as a reader sees it, whichever target made it: per project (a stack on a swarm) the
 * resources it creates or removes and, per service, what happens and why, with the engine
 * requests that will carry it out, in order. `konta plan` prints exactly this.
 */
export interface PlanView {
  target: TargetName;
  /** every project of the release (and removed ones), changed or not */
  units: UnitView[];
}

export interface UnitView {
  /** the project (a stack's name on a swarm) */
  name: string;
  kind: "deploy" | "remove";
  /** "stack" on a swarm */
  noun?: string;
  resources: { mark: "+" | "~" | "-"; kind: string; name: string; why?: string }[];
  actions: ActionView[];
  unchanged: string[];
  /** problems that stop the deploy before anything changes */
  blockers: string[];
  notes: string[];
  /** a removed project's volumes, which are kept */
  kept?: string[];
  /** projects (stacks) of this plan that go first, each past its health gate, before this one starts */
  after?: string[];
  /** every engine request apply will send for it, in order (services of one level may interleave) */
  sequence: string[];
}

export interface ActionView {
  type: "create" | "recreate" | "start" | "stop" | "restart" | "remove" | "update";
  service: string;
  /** the replica (container number) on the engine; a swarm service has none */
  replica?: number;
  /** the container (or swarm service) acted on */
  container?: string;
  why?: string;
  /** what changed besides the Compose model (a swarm service pinned to another digest) */
  details?: string[];
  /** the requests that carry it out, in order: "create kt-web-1 under a temporary name", "stop kt-web-1" */
  steps: string[];
}

export function unitHasChanges(u: UnitView): boolean {
  return u.actions.length > 0 || u.resources.length > 0;
}

export function planHasChanges(p: PlanView): boolean {
  return p.units.some(unitHasChanges);
}

/** Services a plan creates, recreates or updates, as "project/service". */
export function plannedServices(p: PlanView): string[] {
  return p.units.flatMap((u) => u.actions.filter((a) => a.type === "recreate" || a.type === "create" || a.type === "update").map((a) => `${u.name}/${a.service}`));
}

/** One release planned against what runs: what it would do, and doing it. */
export interface Convergence {
  projects: LoadedProject[];
  /** projects (stacks) the plan changes */
  changed: string[];
  plan: PlanView;
  /** pull or build what the plan needs (the engine target; a Swarm's nodes pull themselves) */
  fetchImages(pullAlways: boolean): Promise<void>;
  /** throws a failure naming what it touched (see `Target.failure`) */
  apply(commit: string): Promise<Summary>;
  /** what should run now, for drift checks (state.expected) */
  expected(): Promise<Record<string, ProjectExpectation>>;
  /** the images `expected` runs, as a later rollback needs them (state.ran) */
  ran(expected: Record<string, ProjectExpectation>): Promise<ReleaseImages>;
  /** host paths the running containers mount (kept releases and secrets they use are not pruned) */
  mounted(): string[];
  /** the last run was killed while it changed the target: a failure now may be its leftovers', not the commit's */
  interrupted: boolean;
}

/** What a failed apply touched, and whether it was already put back (a Swarm apply puts back itself). */
export interface Failure {
  touched: string[];
  summary?: Summary;
  restored?: boolean;
  engineLost: boolean;
}

/** A tag followed for image updates whose registry digest moved. */
export interface PendingUpdate {
  ref: string;
  digest: string;
}

/** Why a target converges a release: a new commit, drift on the live one, moved image tags on it. */
export type ConvergeMode = "deployed" | "repaired" | "updated";

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

export interface NodeStatus {
  name: string;
  role: string;
  state: string;
  availability: string;
  leader?: boolean;
}

/** What a target reports about what runs, for `konta status` and the page. */
export interface TargetStatus {
  projects: { name: string; services: ServiceStatus[] }[];
  drift: DriftItem[];
  /** a swarm's nodes */
  nodes?: NodeStatus[];
}

export interface StatusOptions {
  /** inspect every container for its start time (exact uptime); without it the listing alone answers */
  inspect?: boolean;
}

/**
 * One port for every target: flows drive a release through it without knowing which target is
 * configured (lib/targets/index.ts chooses, and loads only that one's code, only what a path uses).
 */
export interface Target {
  readonly name: TargetName;
  /**
   * What this target refuses in a loaded release, knowing nothing of the server (`konta check`; a
   * sync's prepare runs the same before it plans, with what the server has): every refusal.
   */
  validate(projects: LoadedProject[], root: string): Promise<InputError[]>;
  /** what the engine is to this target when it is more than an engine: "a Swarm manager (deploy.target: swarm)" */
  readonly role?: string;
  /** Load release `release` and plan it against what runs (on `pins`' images when given). Changes nothing. */
  prepare(release: ReleaseRef, opts: DeployOptions, pins?: ReleaseImages): Promise<Convergence>;
  /** Before a rollback: the images `pins` names can still run (pulled again where gone), or a DeployError naming the service. */
  ensureImages(docker: DockerClient, pins: ReleaseImages): Promise<void>;
  /** What a failed apply touched. */
  failure(err: unknown): Promise<Failure>;
  /** After a failed apply: put what it touched back to `previous`. Whether anything was rolled back, and whether that worked. */
  rollBack(err: unknown, what: string, previous: ReleaseRef | undefined, opts: DeployOptions, ran: Record<string, ProjectExpectation>): Promise<{ rolledBack: boolean; restored: boolean }>;
  /** What no longer matches `expected`: one listing of what runs, no Compose file read. */
  drift(docker: DockerClient, expected: Record<string, ProjectExpectation>, opts: DriftOptions): Promise<DriftItem[]>;
  /** Followed tags (those `due`) whose registry digest moved, skipping digests that `failed` before. */
  imageUpdates(docker: DockerClient, expected: Record<string, ProjectExpectation>, failed: Record<string, string>, due: Set<string>): Promise<PendingUpdate[]>;
  /** Bring the updated images where the target runs them (the engine pulls; a swarm's nodes pull themselves). */
  pullUpdates(docker: DockerClient, updates: PendingUpdate[]): Promise<void>;
  /** After a failed image update: what the target keeps of the failed images is pointed back. */
  restoreTags(docker: DockerClient, expected: Record<string, ProjectExpectation>, refs: string[]): Promise<void>;
  /** The images a converge of the live release keeps (a swarm's pinned digests), the moved tags at their new digests. */
  pins(mode: ConvergeMode, expected: Record<string, ProjectExpectation>, updates: PendingUpdate[]): Promise<ReleaseImages | undefined>;
  /** Files the deploys wrote for containers (decrypted secrets) that nothing uses any more, removed; how many. */
  pruneFiles(docker: DockerClient, dir: string, projects: LoadedProject[]): Promise<number>;
  /** What runs, per project and service, and drift. */
  status(docker: DockerClient, expected: Record<string, ProjectExpectation>, drift: DriftOptions, opts: StatusOptions): Promise<TargetStatus>;
}
