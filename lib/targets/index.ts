// How a release reaches what deploy.target names: the local engine (containers, engine/) or a
// Swarm (services of stacks, swarm/). `konta sync` and `konta rollback` drive one Convergence
// whichever it is (types.ts): plan, get images, apply, remember what should run. Each target is
// loaded only when it is the one configured.
import type { Convergence, DeployOptions, Failure, ReleaseRef } from "./types.ts";

export type { Convergence, DeployOptions, DriftItem, DriftOptions, Failure, GateOptions, ReleaseRef } from "./types.ts";

export type Target = "engine" | "swarm";

/**
 * `images`: the image digests to keep (a swarm's services are pinned to digests: a drift repair
 * keeps those that ran, an image update changes only the moved tags); the others are resolved anew.
 */
export async function prepareConvergence(target: Target, release: ReleaseRef, opts: DeployOptions, images?: Map<string, string>): Promise<Convergence> {
  if (target === "swarm") return (await import("./swarm/convergence.ts")).swarmConvergence(release, opts, images);
  return (await import("./engine/convergence.ts")).engineConvergence(release, opts);
}

/** What a failed apply of either target touched. */
export async function failure(err: unknown): Promise<Failure> {
  const { ApplyFailure, engineLost } = await import("./engine/convergence.ts");
  if (err instanceof ApplyFailure) return { touched: err.touched, summary: err.summary, engineLost: engineLost(err) };
  const { StackApplyFailure } = await import("./swarm/stack.ts");
  if (err instanceof StackApplyFailure) return { touched: err.touched, summary: err.summary, restored: err.restored, engineLost: false };
  return { touched: [], engineLost: false };
}

/**
 * After a failed apply: put what it touched back to `previous` (the engine target; a Swarm apply
 * has put its services back already). Whether anything was rolled back, and whether that worked.
 */
export async function rollBack(...args: Parameters<typeof import("./engine/convergence.ts").rollBackFailure>): Promise<{ rolledBack: boolean; restored: boolean }> {
  const f = await failure(args[0]);
  if (f.restored !== undefined) return { rolledBack: f.touched.length > 0, restored: f.restored };
  return (await import("./engine/convergence.ts")).rollBackFailure(...args);
}
