// The idle path of `konta sync`: no new commit. Drift from what state.json remembers (no Compose
// file read), repaired if there is any; a due check of the followed image tags.
import { errorMessage, ExitCode } from "../../base/errors.ts";
import { log, progress } from "../../base/log.ts";
import { step } from "../../base/steps.ts";
import { detectDrift } from "../../targets/engine/drift.ts";
import { observeContainers } from "../../targets/engine/observe.ts";
import type { DriftItem } from "../../targets/index.ts";
import { type AttemptResult, imagesDue, writeState } from "../../state/index.ts";
import { converge } from "./deploy.ts";
import type { SyncReport, SyncRun } from "./run.ts";

export async function idle(run: SyncRun, sha: string | undefined, result: AttemptResult): Promise<SyncReport> {
  const short = sha ? sha.slice(0, 12) : "nothing";
  if (!sha) return run.report({ result, exitCode: ExitCode.ok, message: `nothing deployed yet and nothing to deploy` });
  // state lost, damaged, imported or from an older Konta: what should run comes from the live
  // release itself, so drift (a container removed by hand meanwhile) is still repaired
  if (run.state.expectedAt !== sha) {
    log.info(`state: no record of what ${short} runs; converging on the live release`);
    return converge(run, sha, "repaired");
  }
  const drift = await findDrift(run, sha);
  step("drift check");
  if (!drift.length) {
    const updated = await updateImages(run, sha);
    if (updated) return updated;
    if (!run.opts.dryRun && (run.state.lastAttempt?.result !== result || run.state.lastAttempt?.sha !== sha)) run.attempt(result, sha);
    return run.report({ result, exitCode: ExitCode.ok, sha, message: `${result === "held" ? "held" : "up to date"} at ${short}` });
  }
  for (const d of drift) log.warn(`drift: ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
  if (run.opts.dryRun) return run.report({ result: "planned", exitCode: ExitCode.ok, sha, drift, message: `drift found at ${short}; a sync would repair it` });
  const report = await converge(run, sha, "repaired");
  return { ...report, drift };
}

/** What no longer matches state.expected: one listing of the managed containers (or the stacks' services). */
async function findDrift(run: SyncRun, sha: string): Promise<DriftItem[]> {
  const rt = run.rt;
  const docker = await rt.docker();
  const opts = { prune: rt.config.deploy.prune_removed_apps, hostInputs: (project: string) => rt.hostInputs(sha, project), instance: rt.instance };
  if (rt.config.deploy.target === "swarm") {
    const [{ swarmDrift }, { observeServices }] = await Promise.all([import("../../targets/swarm/drift.ts"), import("../../targets/swarm/stack.ts")]);
    return swarmDrift(run.state.expected, await observeServices(docker), opts);
  }
  return detectDrift(run.state.expected, await observeContainers(docker, true), opts);
}

/**
 * Due for a registry check and a followed tag moved: pull it and converge the live release on it
 * (rolled back to the old image on failure). Undefined when there is nothing to update.
 */
async function updateImages(run: SyncRun, sha: string): Promise<SyncReport | undefined> {
  const rt = run.rt;
  const u = run.state.imageUpdates;
  // a rollback hold keeps the images the operator went back to
  if (run.opts.dryRun || run.state.hold) return undefined;
  const due = imagesDue(run.state.expected, u, rt.config.deploy.image_update_interval);
  if (!due.refs.size) return undefined;
  const swarm = rt.config.deploy.target === "swarm";
  const docker = await rt.docker();
  // a swarm's nodes pull the new digest themselves
  const updates = swarm
    ? await (await import("../../targets/swarm/images.ts")).findSwarmUpdates(docker, run.state.expected, u?.failed ?? {}, due.refs)
    : await (await import("../image-updates.ts")).findUpdates(docker, run.state.expected, u?.failed ?? {}, due.refs);
  const now = new Date().toISOString();
  run.state.imageUpdates = {
    ...u,
    ...(due.followed ? { checkedAt: now } : {}),
    ...(due.periodic.length ? { pulled: pulledRecord(run, { ...u?.pulled, ...Object.fromEntries(due.periodic.map((ref) => [ref, now])) }) } : {}),
  };
  if (!updates.length) {
    writeState(rt.paths.state, run.state);
    return undefined;
  }
  const { pullImage } = await import("../../docker/images.ts");
  for (const { ref, digest } of updates) {
    progress(`image updates: ${ref} moved to ${digest.slice(0, 19)}${swarm ? "" : "; pulling it"}`);
    if (swarm) continue;
    try {
      await pullImage(docker, ref);
    } catch (err) {
      log.warn(`image updates: ${errorMessage(err)}; the next due check tries again`);
      run.state.imageUpdates.checkedAt = undefined;
      return undefined;
    }
  }
  run.updates = updates;
  return converge(run, sha, "updated");
}

/** When each image was last checked on its pull_policy's schedule, kept for those the live release still pulls so. */
function pulledRecord(run: SyncRun, pulled: Record<string, string>): Record<string, string> {
  const live = new Set(Object.values(run.state.expected).flatMap((p) => Object.values(p.services).filter((t) => t.pullEvery !== undefined).map((t) => t.image)));
  return Object.fromEntries(Object.entries(pulled).filter(([ref]) => live.has(ref)));
}
