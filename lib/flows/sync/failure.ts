// The failure path of `konta sync`: put the touched projects back to the live release, and end
// with the Outcome that remembers the commit (timer runs do not retry it every tick), runs
// failure.sh and notifies. A failed drift repair has nothing to go back to and is simply reported
// (and retried next tick).
import { DeployError, errorMessage, ExitCode, KontaError } from "../../base/errors.ts";
import { log } from "../../base/log.ts";
import { redact } from "../../base/redact.ts";
import type { Summary } from "../../base/summary.ts";
import type { ConvergeMode } from "../../targets/index.ts";
import type { Outcome } from "../transition.ts";
import { hostname } from "node:os";
import type { Ending, SyncRun } from "./run.ts";

/** What a commit's status says of a failure: refused, or failed and put back, or not the commit's fault. */
function statusText(e: KontaError, blamed: boolean, restored: boolean): string {
  const why = e.message.split("\n")[0] ?? "";
  if (!blamed) return `not deployed on ${hostname()}, not the commit's fault (the next run tries again): ${why}`;
  if (e.exitCode === ExitCode.badInput) return `refused on ${hostname()}: ${why}`;
  return `failed on ${hostname()}${restored ? ", the previous release put back" : ""}: ${why}`;
}

/**
 * `interrupted`: the run before this one was killed while it changed the target (see Convergence).
 * `hooksOf`: the release whose failure.sh runs (default the failed commit's; an untrusted commit's
 * never runs: the live release's does).
 */
export async function fail(run: SyncRun, sha: string, err: unknown, touched: string[], summary: Summary, mode: ConvergeMode, interrupted = false, hooksOf = sha): Promise<Ending> {
  const rt = run.rt;
  const target = rt.target();
  const e = err instanceof KontaError ? err : new DeployError(errorMessage(err));
  const f = await target.failure(err);
  // nothing changed and Git or Docker could not be reached: the run ends there (recorded by sync)
  if (e.exitCode === ExitCode.unreachable && !f.touched.length && !f.engineLost) {
    run.tried = sha;
    throw e;
  }
  // The engine went away mid-deploy (restarted, crashed): not the commit's fault, so it is not
  // remembered as failed and the next tick deploys it again once the engine is back.
  const engineLost = f.engineLost;
  // a failed drift repair has nothing to go back to; an image update goes back to the same release
  // with the image IDs it ran (pinned from state)
  const { rolledBack: rollBack, restored } =
    mode === "repaired"
      ? { rolledBack: false, restored: false }
      : await target.rollBack(err, `deploy of ${sha.slice(0, 12)}`, run.live ? rt.release(run.live) : undefined, rt.deployOptions(await rt.docker()), run.state.expected);
  const message = `${e.message}${rollBack ? (restored ? " (rolled back)" : " (rollback failed too; see the log)") : ""}`;
  // an engine fault that outlives runs (a port the engine keeps, until someone restarts it) fails
  // every tick the same way: failure.sh and the notification come once, the log says it each time
  const before = run.state.lastAttempt;
  const again = engineLost && before?.result === "failed" && before.sha === sha && before.error === redact(message);
  // after a killed run, what failed may be what it left: the next run tries the commit again, and
  // only a failure of a run that found nothing left behind is remembered against it
  const remember = mode === "deployed" && !engineLost && !interrupted;
  if (mode === "deployed" && interrupted) log.warn(`the run before this one was interrupted: ${sha.slice(0, 12)} is not remembered as failed, the next run tries it again`);
  const images = run.updatedImages();
  if (mode === "updated" && !engineLost) {
    // the engine's local tags point at the failed image; a swarm's services are put back to their digests
    await target.restoreTags(await rt.docker(), run.state.expected, images);
  }
  if (again) log.warn("the same engine fault as the last run: failure.sh and notifications were told then");
  const outcome: Outcome = {
    result: "failed",
    sha,
    error: message,
    ...(remember ? { failed: { sha, at: new Date().toISOString(), error: redact(e.message) } } : {}),
    // not tried again until another image is pushed under the tag
    ...(mode === "updated" && !engineLost ? { imageUpdates: { failed: { ...run.state.imageUpdates?.failed, ...Object.fromEntries(run.updates.map((u) => [u.ref, u.digest])) } } } : {}),
    history: { kind: "failure", trigger: run.trigger, previous: run.live, summary, rolledBack: rollBack && restored, images, error: e.message },
    ...(!again && mode !== "repaired" ? { hook: { event: "failure" as const, sha, from: hooksOf, previous: run.live, projects: touched, summary, error: e.message, images } } : {}),
    ...(!again ? { notify: { event: "failure" as const, commit: sha, projects: touched, summary, error: e.message, durationMs: Date.now() - run.started, ...(images.length ? { images } : {}) } } : {}),
    // on the commit: refused or failed, or not deployed for a reason that is not the commit's
    ...(mode === "deployed" && !again ? { statuses: [{ sha, state: remember ? ("failure" as const) : ("error" as const), description: statusText(e, remember, rollBack && restored) }] } : {}),
  };
  const report = run.report({
    result: "failed",
    exitCode: engineLost ? ExitCode.unreachable : e.exitCode === ExitCode.badInput ? ExitCode.badInput : ExitCode.deployFailed,
    sha,
    previous: run.live,
    summary,
    error: redact(e.message),
    hint: e.hint,
    ...(rollBack && restored ? { rolledBack: true } : {}),
    message: `deploy of ${sha.slice(0, 12)} failed: ${redact(message)}`,
  });
  return { report, outcome };
}
