// How a release reaches what deploy.target names: the local engine (containers, engine/) or a
// Swarm (services of stacks, swarm/). Flows drive one Target (types.ts) whichever it is; each
// target's code is loaded only when it is the one configured, and only the part a path uses (an
// idle tick loads the drift check, not the planner).
import type { Target, TargetName } from "./types.ts";

export type * from "./types.ts";
export { planHasChanges, plannedServices, unitHasChanges } from "./types.ts";

type Method = Exclude<keyof Target, "name" | "role">;

/** The targets there are, the first the default (deploy.target). */
export const TARGETS: readonly TargetName[] = ["engine", "swarm"];

export function isTarget(name: string): name is TargetName {
  return (TARGETS as readonly string[]).includes(name);
}

/** The target `name`: each method loads that target's port on first use. */
export function targetOf(name: TargetName): Target {
  let port: Promise<Target> | undefined;
  const load = () => (port ??= name === "swarm" ? import("./swarm/target.ts").then((m) => m.swarmTarget) : import("./engine/target.ts").then((m) => m.engineTarget));
  const lazy = <K extends Method>(k: K): Target[K] => (async (...args: unknown[]) => ((await load())[k] as (...a: unknown[]) => unknown)(...args)) as Target[K];
  return {
    name,
    ...(name === "swarm" ? { role: "a Swarm manager (deploy.target: swarm)" } : {}),
    validate: lazy("validate"),
    prepare: lazy("prepare"),
    ensureImages: lazy("ensureImages"),
    failure: lazy("failure"),
    rollBack: lazy("rollBack"),
    drift: lazy("drift"),
    imageUpdates: lazy("imageUpdates"),
    pullUpdates: lazy("pullUpdates"),
    restoreTags: lazy("restoreTags"),
    pins: lazy("pins"),
    pruneFiles: lazy("pruneFiles"),
    status: lazy("status"),
  };
}
