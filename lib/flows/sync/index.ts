// One `konta sync` run (DESIGN section 3): lock, ask the remote for its head, and only when it
// differs from the live release fetch, check out, validate, run hooks and converge the engine;
// switch `current`, record state, exit. With no new commit it still repairs drift.
// The decision is here; the paths it takes are idle.ts, deploy.ts and failure.ts.
import { errorMessage, KontaError } from "../../base/errors.ts";
import { acquireLock } from "../../base/lock.ts";
import { log } from "../../base/log.ts";
import { step } from "../../base/steps.ts";
import { remoteHead } from "../../git/head.ts";
import type { GitSource } from "../../git/remote.ts";
import { decideSync, readState, recordDeploy, type State } from "../../state/index.ts";
import { actionsOf, kindOf, recordRun, syncTrigger } from "../history.ts";
import type { Runtime } from "../runtime.ts";
import { deployCommit } from "./deploy.ts";
import { idle } from "./idle.ts";
import { gitModule, type SyncOptions, type SyncReport, SyncRun } from "./run.ts";
import type { Trigger } from "../../history/index.ts";

export type { SyncOptions, SyncReport } from "./run.ts";

export async function sync(rt: Runtime, opts: SyncOptions = {}): Promise<SyncReport> {
  step("runtime and config");
  try {
    return await locked(rt, opts);
  } finally {
    // after the lock is released: the textfile collector reads the run's outcome, whatever it was
    if (rt.config.metrics?.textfile_dir && !opts.dryRun) await (await import("../metrics.ts")).writeTextfile(rt);
  }
}

async function locked(rt: Runtime, opts: SyncOptions): Promise<SyncReport> {
  const run = new SyncRun(rt, opts);
  rt.ensureStateDirs();
  const lock = await acquireLock(rt.paths.lock, "konta sync", opts.wait ?? 0);
  try {
    rt.store.cleanTemporaries();
    run.live = rt.store.current();
    run.state = await loadState(rt, run.live);
    step("lock and state");
    const trigger = opts.dryRun ? "manual" : syncTrigger(rt, opts.now);
    let report: SyncReport;
    try {
      report = await decide(run);
    } catch (err) {
      if (!opts.dryRun) await record(run, trigger, { result: "failed", sha: run.state.lastAttempt?.sha, error: errorMessage(err), durationMs: Date.now() - run.started });
      throw err;
    }
    if (!opts.dryRun) await record(run, trigger, report);
    return report;
  } finally {
    lock.release();
  }
}

/** A run that did something goes into the history (an idle or skipped one does not). */
async function record(run: SyncRun, trigger: Trigger, r: Pick<SyncReport, "result" | "sha" | "error" | "durationMs" | "summary" | "previous" | "rolledBack">): Promise<void> {
  const kind = kindOf(r.result);
  if (!kind) return;
  const current = run.state.current?.sha === r.sha ? run.state.current : undefined;
  const info = current ?? (r.sha ? await (await gitModule()).commitInfo(run.rt.paths.repo, r.sha).catch(() => undefined) : undefined);
  recordRun(run.rt, run.state, {
    at: new Date(run.started).toISOString(),
    kind,
    trigger,
    result: r.result,
    ...(r.sha ? { sha: r.sha } : {}),
    ...(info?.message ? { subject: info.message.split("\n")[0] } : {}),
    ...(info?.author ? { author: info.author } : {}),
    ...(r.previous && r.previous !== r.sha ? { previous: r.previous } : {}),
    actions: actionsOf(r.summary),
    durationMs: r.durationMs,
    ...(r.error ? { error: r.error } : {}),
    ...(r.rolledBack ? { rolledBack: true } : {}),
    ...(run.updates.length ? { images: run.updatedImages() } : {}),
  });
}

/** Bring state in line with the disk after a crash or a corrupt state.json. */
async function loadState(rt: Runtime, live: string | undefined): Promise<State> {
  const { state, recovered } = readState(rt.paths.state);
  if (live && (recovered || !state.current || state.current.sha !== live)) {
    const info = await (await gitModule()).commitInfo(rt.paths.repo, live).catch(() => ({ sha: live, message: "", author: "", date: "" }));
    recordDeploy(state, { ...info, deployedAt: new Date().toISOString(), trigger: "sync", durationMs: 0 });
    if (recovered) log.warn(`state: rebuilt from the live release ${live.slice(0, 12)}; drift is checked against the engine`);
  }
  return state;
}

/** One request for the branch head, then idle, skip a failed commit, or deploy (decideSync, pure). */
async function decide(run: SyncRun): Promise<SyncReport> {
  const rt = run.rt;
  let head: string;
  let source: GitSource;
  try {
    source = await rt.gitSource();
    head = (await remoteHead(source)).sha;
    step("remote head");
  } catch (err) {
    if (err instanceof KontaError) run.attempt("failed", undefined, err.message);
    throw err;
  }
  run.state.lastRemoteHead = head;

  const hold = run.state.hold;
  const decision = decideSync(run.state, head, run.live, !!run.opts.now);
  if (hold && decision.liftHold) {
    log.info(`new commit ${head.slice(0, 12)} on ${rt.config.repository.branch}: lifting the rollback hold at ${hold.sha.slice(0, 12)}`);
    run.state.hold = undefined;
  } else if (hold) {
    log.info(`held at ${hold.sha.slice(0, 12)} by \`konta rollback\` since ${hold.since}; a new commit or \`konta resume\` lifts the hold`);
  }
  switch (decision.kind) {
    case "idle":
      return idle(run, run.live, decision.result);
    case "skip": {
      const { sha, failed } = decision;
      log.warn(`skipping ${sha.slice(0, 12)}: it failed at ${failed.at} (${failed.error.split("\n")[0]}); push a new commit or run \`konta sync --now\` to retry`);
      const report = await idle(run, run.live, "skipped");
      return { ...report, message: `skipped ${sha.slice(0, 12)} (failed before); ${report.message}` };
    }
    case "deploy":
      return deployCommit(run, decision.sha, source);
  }
}
