// The words both targets share, so that neither imports the other: what a Convergence is, what it
// is given (a release, the deploy options), what a failure touched, and what drift looks like.
import type { LoadedProject, LoadOptions } from "../compose/index.ts";
import type { DockerClient } from "../docker/client.ts";
import type { Summary } from "../base/summary.ts";
import type { ProjectExpectation, ReleaseImages } from "../state/index.ts";
import type { Plan } from "./engine/plan.ts";
import type { StackPlan } from "./swarm/stack.ts";

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
  /** a container without healthcheck must stay up this long without restarting */
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

export interface Convergence {
  projects: LoadedProject[];
  /** projects (stacks) the plan changes */
  changed: string[];
  /** the engine target's plan */
  plan?: Plan;
  /** the swarm target's plan, one per stack */
  stacks?: StackPlan[];
  /** pull or build what the plan needs (the engine target; a Swarm's nodes pull themselves) */
  fetchImages(pullAlways: boolean): Promise<void>;
  /** throws a failure naming what it touched (see `failure`) */
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
