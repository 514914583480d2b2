// The swarm target's port (types.ts Target): services of stacks on a Swarm manager. Each method
// loads only what it needs; the nodes pull images themselves, and a failed apply has put its
// services back before it throws.
import { existsSync } from "node:fs";
import { imagesOf } from "../../state/index.ts";
import type { Target } from "../types.ts";

export const swarmTarget: Target = {
  name: "swarm",
  role: "a Swarm manager (deploy.target: swarm)",
  // with no engine: no foreign port holders known, the nodes and networks left to the deploy
  validate: async (projects, root) => (await import("./convergence.ts")).validateSwarm(projects, root, { services: [], fileExists: existsSync }),
  prepare: async (release, opts, pins) => (await import("./convergence.ts")).swarmConvergence(release, opts, pins),
  ensureImages: async (docker, pins) => (await import("./convergence.ts")).ensureSwarmImages(docker, pins),
  failure: async (err) => {
    const { StackApplyFailure } = await import("./stack.ts");
    return err instanceof StackApplyFailure ? { touched: err.touched, summary: err.summary, restored: err.restored, engineLost: false } : { touched: [], engineLost: false };
  },
  rollBack: async (err) => {
    const f = await swarmTarget.failure(err);
    return { rolledBack: f.touched.length > 0, restored: f.restored ?? false };
  },
  drift: async (docker, expected, opts) => {
    const [{ swarmDrift }, { observeServices }] = await Promise.all([import("./drift.ts"), import("./stack.ts")]);
    return swarmDrift(expected, await observeServices(docker), opts);
  },
  imageUpdates: async (...args) => (await import("./images.ts")).findSwarmUpdates(...args),
  // the nodes pull the new digest themselves
  pullUpdates: async () => {},
  // a failed update put the services back to their digests; no local tag names the failed image
  restoreTags: async () => {},
  /** A repair keeps the digests that ran; an image update changes only the moved tags'. */
  pins: async (mode, expected, updates) => {
    if (mode === "deployed") return undefined;
    const kept = imagesOf(expected);
    for (const services of Object.values(kept)) for (const r of Object.values(services)) r.id = updates.find((u) => u.ref === r.image)?.digest ?? r.id;
    return kept;
  },
  // a swarm's configs and secrets hold their data: the deploys write no file on the host
  pruneFiles: async () => 0,
  status: async (docker, expected, driftOpts) => {
    const [{ swarmStatus }, { swarmDrift }, { observeServices }] = await Promise.all([import("./status.ts"), import("./drift.ts"), import("./stack.ts")]);
    const [cluster, services] = await Promise.all([swarmStatus(docker, expected), observeServices(docker)]);
    return {
      drift: swarmDrift(expected, services, driftOpts),
      nodes: cluster.nodes,
      projects: cluster.projects.map((p) => ({
        name: p.name,
        services: p.services.map((s) => ({ name: s.name, image: s.image, replicas: s.desired, stopped: s.stopped, ...(s.completed !== undefined ? { completed: s.completed } : {}), containers: s.tasks })),
      })),
    };
  },
};
