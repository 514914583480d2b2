// How a release reaches what deploy.target names: the local engine (containers, engine/) or a
// Swarm (services of stacks, swarm/). `konta sync` and `konta rollback` drive one Convergence
// whichever it is (types.ts): plan, get images, apply, remember what should run. Each target is
// loaded only when it is the one configured.
import type { DockerClient } from "../docker/client.ts";
import type { ReleaseImages } from "../state/index.ts";
import type { Convergence, DeployOptions, Failure, ReleaseRef } from "./types.ts";

export type { Convergence, DeployOptions, DriftItem, DriftOptions, Failure, GateOptions, ReleaseRef } from "./types.ts";

export type Target = "engine" | "swarm";

/**
 * `pins`: the images services run instead of what their tags point at now: what a release ran
 * (a rollback), or on a swarm the digests to keep (a drift repair keeps those that ran, an image
 * update changes only the moved tags); the others are resolved anew.
 */
export async function prepareConvergence(target: Target, release: ReleaseRef, opts: DeployOptions, pins?: ReleaseImages): Promise<Convergence> {
  if (target === "swarm") return (await import("./swarm/convergence.ts")).swarmConvergence(release, opts, pins);
  return (await import("./engine/convergence.ts")).engineConvergence(release, opts, pins);
}

/** Before a rollback: the images `pins` names can still run (pulled again where gone), or a DeployError naming the service. */
export async function ensureImages(target: Target, docker: DockerClient, pins: ReleaseImages): Promise<void> {
  if (target === "swarm") return (await import("./swarm/convergence.ts")).ensureSwarmImages(docker, pins);
  return (await import("./engine/convergence.ts")).ensureEngineImages(docker, pins);
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
