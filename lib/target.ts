// How a release reaches what deploy.target names: the local engine (containers, lib/deploy.ts) or
// a Swarm (services of stacks, lib/swarm/deploy.ts). `konta sync` and `konta rollback` drive one
// Convergence whichever it is: plan, get images, apply, remember what should run.
import type { LoadedProject } from "./compose/index.ts";
import type { DeployOptions, ReleaseRef } from "./deploy.ts";
import type { Plan } from "./reconcile/plan.ts";
import type { Summary } from "./reconcile/summary.ts";
import type { ProjectExpectation } from "./state.ts";
import type { StackPlan } from "./swarm/stack.ts";

export type Target = "engine" | "swarm";

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
  /** host paths the running containers mount (kept releases and secrets they use are not pruned) */
  mounted(): string[];
}

/** What a failed apply touched, and whether it was already put back (a Swarm apply puts back itself). */
export interface Failure {
  touched: string[];
  summary?: Summary;
  restored?: boolean;
  engineLost: boolean;
}

/**
 * `images`: the image digests to keep (a swarm's services are pinned to digests: a drift repair
 * keeps those that ran, an image update changes only the moved tags); the others are resolved anew.
 */
export async function prepareConvergence(target: Target, release: ReleaseRef, opts: DeployOptions, images?: Map<string, string>): Promise<Convergence> {
  if (target === "swarm") {
    const { applySwarm, changedStacks, prepareSwarm, swarmExpectations } = await import("./deploy-swarm.ts");
    const p = await prepareSwarm(release, opts, images);
    return {
      projects: p.projects,
      changed: changedStacks(p),
      stacks: p.stacks.map((s) => s.plan),
      fetchImages: async () => {},
      apply: () => applySwarm(p, opts),
      expected: () => swarmExpectations(p, opts.docker, opts.instance),
      mounted: () => [],
    };
  }
  const { applyPlan, expectations, fetchImages, prepare } = await import("./deploy.ts");
  const { projectHasChanges } = await import("./reconcile/plan.ts");
  const { observeContainers } = await import("./reconcile/observe.ts");
  let p = await prepare(release, opts);
  const convergence: Convergence = {
    projects: p.projects,
    changed: p.plan.projects.filter(projectHasChanges).map((x) => x.project),
    plan: p.plan,
    fetchImages: async (pullAlways) => {
      p = await fetchImages(p, opts, pullAlways);
      convergence.plan = p.plan;
    },
    apply: (commit) => applyPlan(p, opts, commit),
    expected: async () => expectations(p, await observeContainers(opts.docker, true)),
    mounted: () => p.observed.containers.flatMap((c) => c.binds),
  };
  return convergence;
}

/** What a failed apply of either target touched. */
export async function failure(err: unknown): Promise<Failure> {
  const { ApplyFailure, engineLost } = await import("./deploy.ts");
  if (err instanceof ApplyFailure) return { touched: err.touched, summary: err.summary, engineLost: engineLost(err) };
  const { StackApplyFailure } = await import("./swarm/stack.ts");
  if (err instanceof StackApplyFailure) return { touched: err.touched, summary: err.summary, restored: err.restored, engineLost: false };
  return { touched: [], engineLost: false };
}

/**
 * After a failed apply: put what it touched back to `previous` (the engine target; a Swarm apply
 * has put its services back already). Whether anything was rolled back, and whether that worked.
 */
export async function rollBack(...args: Parameters<typeof import("./deploy.ts").rollBackFailure>): Promise<{ rolledBack: boolean; restored: boolean }> {
  const f = await failure(args[0]);
  if (f.restored !== undefined) return { rolledBack: f.touched.length > 0, restored: f.restored };
  return (await import("./deploy.ts")).rollBackFailure(...args);
}
