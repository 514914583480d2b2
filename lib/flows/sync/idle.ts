// The idle path of `konta sync`: no new commit. Drift from what state.json remembers (no Compose
// file read), repaired if there is any; a due check of the followed image tags.
import { errorMessage, ExitCode } from "../../base/errors.ts";
import { log, progress } from "../../base/log.ts";
import { step } from "../../base/steps.ts";
import type { DriftItem } from "../../targets/index.ts";
import { type AttemptResult, type ImageUpdates, imagesDue } from "../../state/index.ts";
import { converge } from "./deploy.ts";

import { type Ending, type SyncRun, windowModule } from "./run.ts";

export async function idle(run: SyncRun, sha: string | undefined, result: AttemptResult): Promise<Ending> {
  const short = sha ? sha.slice(0, 12) : "nothing";
  if (!sha) return { report: run.report({ result, exitCode: ExitCode.ok, message: `nothing deployed yet and nothing to deploy` }), outcome: { result, attempt: false } };
  // state lost, damaged, imported or from an older Konta: what should run comes from the live
  // release itself, so drift (a container removed by hand meanwhile) is still repaired
  if (run.state.expectedAt !== sha && !run.closed?.repair) {
    log.info(`state: no record of what ${short} runs; converging on the live release`);
    return converge(run, sha, "repaired");
  }
  const drift = await findDrift(run, sha);
  step("drift check");
  const idleMessage = `${result === "held" ? "held" : "up to date"} at ${short}`;
  if (drift.length && run.closed?.repair) {
    // a repair recreates containers as a deploy does: it waits for the window too
    const when = (await windowModule()).nextWindowText(run.rt.config.sync, run.closed.opensAt);
    for (const d of drift) log.warn(`drift: ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what} (left until ${when}; sync.repair_outside_windows)`);
    return { report: { ...run.report({ result, exitCode: ExitCode.ok, sha, message: `${idleMessage}; drift left for the deploy window` }), drift }, outcome: { result, sha, attempt: run.state.lastAttempt?.result !== result || run.state.lastAttempt?.sha !== sha } };
  }
  const secrets = drift.length || run.closed?.repair ? undefined : await refreshSecrets(run);
  if (secrets?.rotated) {
    const ending = await converge(run, sha, "repaired");
    return ending.outcome ? { ...ending, outcome: { ...ending.outcome, secretsCheckedAt: secrets.at } } : ending;
  }
  if (!drift.length) {
    const updated = run.closed?.repair ? undefined : await updateImages(run, sha);
    if (updated && "report" in updated) return updated;
    // an idle tick writes state only when something in it changes
    const changed = run.state.lastAttempt?.result !== result || run.state.lastAttempt?.sha !== sha;
    return {
      report: run.report({ result, exitCode: ExitCode.ok, sha, message: idleMessage }),
      outcome: { result, sha, attempt: changed, ...(updated ? { imageUpdates: updated.checked } : {}), ...(secrets ? { secretsCheckedAt: secrets.at } : {}) },
    };
  }
  for (const d of drift) log.warn(`drift: ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
  if (run.opts.dryRun) return { report: run.report({ result: "planned", exitCode: ExitCode.ok, sha, drift, message: `drift found at ${short}; a sync would repair it` }) };
  const ending = await converge(run, sha, "repaired");
  return { ...ending, report: { ...ending.report, drift } };
}

/**
 * The live release's secret-manager values asked for again, when `konta sync --now` asks or
 * secrets.refresh_interval has passed (an idle tick otherwise contacts no manager): whether a value
 * changed (a keyed digest per project, never the value). The values stay fetched for the converge.
 */
async function refreshSecrets(run: SyncRun): Promise<{ at: string; rotated: boolean } | undefined> {
  const rt = run.rt;
  const projects = Object.entries(run.state.expected).flatMap(([name, e]) => (e.secrets ? [[name, e.secrets] as const] : []));
  if (!projects.length || run.opts.dryRun) return undefined;
  const every = rt.config.secrets.refresh_interval;
  const last = Date.parse(run.state.secretsCheckedAt ?? "");
  // a last check in the future: the clock went back, and it is due now
  const due = run.opts.now || (every !== undefined && (!(last <= Date.now()) || Date.now() - last >= every * 1000));
  if (!due) return undefined;
  const refs = projects.flatMap(([, s]) => Object.values(s.refs));
  await rt.managed.fetch?.(refs);
  const at = new Date().toISOString();
  let rotated = false;
  for (const [name, s] of projects) {
    const values = Object.fromEntries(Object.entries(s.refs).map(([v, ref]) => [v, rt.managed.values.get(ref) ?? ""]));
    if (rt.managed.digest(values) === s.digest) continue;
    log.info(`secrets: a value of ${name} (${Object.keys(s.refs).join(", ")}) changed in its secret manager: converging on it`);
    rotated = true;
  }
  return { at, rotated };
}

/** What no longer matches state.expected: one listing of what the target runs. */
async function findDrift(run: SyncRun, sha: string): Promise<DriftItem[]> {
  const rt = run.rt;
  const opts = { prune: rt.config.deploy.prune_removed_apps, hostInputs: (project: string) => rt.hostInputs(sha, project), instance: rt.instance };
  return rt.target().drift(await rt.docker(), run.state.expected, opts);
}

/**
 * Due for a registry check and a followed tag moved: bring the new images and converge the live
 * release on them (rolled back to the old images on failure). Without a move: what the check
 * leaves in state (when it checked), or nothing when no check was due.
 */
async function updateImages(run: SyncRun, sha: string): Promise<Ending | { checked: Partial<ImageUpdates> } | undefined> {
  const rt = run.rt;
  const u = run.state.imageUpdates;
  // a rollback hold keeps the images the operator went back to
  if (run.opts.dryRun || run.state.hold) return undefined;
  const due = imagesDue(run.state.expected, u, rt.config.deploy.image_update_interval);
  if (!due.refs.size) return undefined;
  const target = rt.target();
  const docker = await rt.docker();
  const updates = await target.imageUpdates(docker, run.state.expected, u?.failed ?? {}, due.refs);
  const now = new Date().toISOString();
  const checked: Partial<ImageUpdates> = {
    ...(due.followed ? { checkedAt: now } : {}),
    ...(due.periodic.length ? { pulled: pulledRecord(run, { ...u?.pulled, ...Object.fromEntries(due.periodic.map((ref) => [ref, now])) }) } : {}),
  };
  if (!updates.length) return { checked };
  for (const { ref, digest } of updates) progress(`image updates: ${ref} moved to ${digest.slice(0, 19)}`);
  try {
    await target.pullUpdates(docker, updates);
  } catch (err) {
    log.warn(`image updates: ${errorMessage(err)}; the next due check tries again`);
    return { checked: { ...checked, checkedAt: undefined } };
  }
  run.updates = updates;
  const ending = await converge(run, sha, "updated");
  return ending.outcome ? { ...ending, outcome: { ...ending.outcome, imageUpdates: { ...checked, ...ending.outcome.imageUpdates } } } : ending;
}

/** When each image was last checked on its pull_policy's schedule, kept for those the live release still pulls so. */
function pulledRecord(run: SyncRun, pulled: Record<string, string>): Record<string, string> {
  const live = new Set(Object.values(run.state.expected).flatMap((p) => Object.values(p.services).filter((t) => t.pullEvery !== undefined).map((t) => t.image)));
  return Object.fromEntries(Object.entries(pulled).filter(([ref]) => live.has(ref)));
}
