// The engine target's port (types.ts Target): containers on the local engine. Each method loads
// only what it needs, so an idle tick's drift check does not bring the planner or the applier.
import { progress } from "../../base/log.ts";
import type { Target } from "../types.ts";

export const engineTarget: Target = {
  name: "engine",
  validate: async (projects, root) => (await import("./rules.ts")).validateEngine(projects, root),
  prepare: async (release, opts, pins) => (await import("./convergence.ts")).engineConvergence(release, opts, pins),
  ensureImages: async (docker, pins) => (await import("./convergence.ts")).ensureEngineImages(docker, pins),
  failure: async (err) => {
    const { ApplyFailure, engineLost } = await import("./convergence.ts");
    return err instanceof ApplyFailure ? { touched: err.touched, summary: err.summary, engineLost: engineLost(err) } : { touched: [], engineLost: false };
  },
  rollBack: async (...args) => (await import("./convergence.ts")).rollBackFailure(...args),
  drift: async (docker, expected, opts) => {
    const [{ detectDrift }, { observeContainers }] = await Promise.all([import("./drift.ts"), import("./observe.ts")]);
    return detectDrift(expected, await observeContainers(docker, true), opts);
  },
  imageUpdates: async (...args) => (await import("./updates.ts")).findUpdates(...args),
  pullUpdates: async (docker, updates) => {
    const { pullImage } = await import("../../docker/images.ts");
    for (const { ref } of updates) {
      progress(`image updates: pulling ${ref}`);
      await pullImage(docker, ref);
    }
  },
  restoreTags: async (...args) => (await import("./updates.ts")).restoreTags(...args),
  // the engine runs image IDs: a converge of the live release resolves its tags anew
  pins: async () => undefined,
  pruneFiles: async (docker, dir, projects) => {
    const { hasSecretFiles, pruneSecretFiles } = await import("./secret-files.ts");
    // the engine's list (every container on the host) only when there is a file to keep or remove
    if (!hasSecretFiles(dir)) return 0;
    const keep = new Set((await (await import("./observe.ts")).observeContainers(docker)).flatMap((x) => x.binds));
    for (const project of projects) for (const s of Object.values(project.services)) for (const m of [...(s.secrets ?? []), ...(s.configs ?? [])]) keep.add(m.source);
    return pruneSecretFiles(dir, keep).length;
  },
  status: async (...args) => (await import("./status.ts")).engineStatus(...args),
};
