// One `konta sync` run (DESIGN section 3): lock, ask the remote for its head, and only when it
// differs from the live release fetch, check out, validate, run hooks and converge the target;
// switch `current`, record state, exit. With no new commit it still repairs drift.
// The decision is here; the paths it takes are idle.ts, deploy.ts and failure.ts, each ending
// with an Outcome that ../transition.ts records, once, before the lock is let go.
import { errorMessage, KontaError } from "../../base/errors.ts";
import { acquireLock } from "../../base/lock.ts";
import { log } from "../../base/log.ts";
import { step } from "../../base/steps.ts";
import { remoteHead } from "../../git/head.ts";
import type { GitSource } from "../../git/remote.ts";
import { decideSync, readState, recordDeploy, type State } from "../../state/index.ts";
import { pushedMeanwhile, syncTrigger } from "../history.ts";
import { applyOutcome } from "../transition.ts";
import { windowModule } from "./run.ts";
import type { Runtime } from "../runtime.ts";
import { deployCommit } from "./deploy.ts";
import { idle } from "./idle.ts";
import { type Ending, gitModule, type SyncOptions, type SyncReport, SyncRun } from "./run.ts";

export type { SyncOptions, SyncReport } from "./run.ts";

// a push while a run goes is picked up by that run before it exits (systemd ignores the webhook's
// start of a unit that is running); this many times at most, so a busy branch cannot keep one run going
const PUSHES_PICKED_UP = 3;
const IDLE: SyncReport["result"][] = ["up-to-date", "skipped", "held"];

export async function sync(rt: Runtime, opts: SyncOptions = {}): Promise<SyncReport> {
  step("runtime and config");
  try {
    let report = await locked(rt, opts);
    for (let n = 0; n < PUSHES_PICKED_UP && !opts.dryRun && pushedMeanwhile(rt); n++) {
      log.info(`${report.message}; a push arrived during this run (webhook): syncing again for it`);
      const again = await locked(rt, opts);
      // a pass that found nothing new does not hide what the one before did (a failure's exit code)
      if (IDLE.includes(again.result)) log.info(again.message);
      else report = again;
    }
    return report;
  } finally {
    // after the lock is released: the textfile collector reads the run's outcome, whatever it was
    if (rt.config.metrics?.textfile_dir && !opts.dryRun) await (await import("../metrics.ts")).writeTextfile(rt);
  }
}

async function locked(rt: Runtime, opts: SyncOptions): Promise<SyncReport> {
  rt.ensureStateDirs();
  const lock = await acquireLock(rt.paths.lock, "konta sync", opts.wait ?? 0);
  try {
    rt.store.cleanTemporaries();
    const live = rt.store.current();
    const state = await loadState(rt, live);
    step("lock and state");
    const run = new SyncRun(rt, opts, state, live, opts.dryRun ? "manual" : syncTrigger(rt, opts.now));
    let ending: Ending;
    try {
      ending = await decide(run);
    } catch (err) {
      // a run that could not get as far as an outcome (Git or Docker unreachable, a bad config)
      if (!opts.dryRun) {
        const tried = err instanceof KontaError ? run.tried : undefined;
        await applyOutcome(rt, state, { result: "failed", sha: tried, error: errorMessage(err), history: { kind: "failure", trigger: run.trigger } }, run.started);
      }
      throw err;
    }
    if (!opts.dryRun && ending.outcome) await applyOutcome(rt, state, ending.outcome, run.started);
    return ending.report;
  } finally {
    lock.release();
  }
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
async function decide(run: SyncRun): Promise<Ending> {
  const rt = run.rt;
  const configured: GitSource = await rt.gitSource();
  const remote = await remoteHead(configured);
  step("remote head");
  // the fetch asks for what the head named (with repository.tag: the tag selected this run)
  const source = { ...configured, ref: remote.name };
  let head = remote.sha;
  const liveTag = run.state.current?.tag;
  if (remote.kind === "tag" && configured.tagPattern && liveTag && run.live && liveTag !== remote.name && (await import("../../git/tags.ts")).olderTag(remote.name, liveTag)) {
    // the tag that runs was deleted (or moved out of the range): the newest one left is older, and a
    // tag going away is no order to go back; `konta rollback <tag>` does that
    log.warn(`tag ${liveTag} that runs is no longer selected; the newest that is, ${remote.name}, is older: staying at ${liveTag} (konta rollback ${remote.name} goes back to it)`);
    head = run.live;
  }
  if (remote.kind === "tag") run.tag = { name: remote.name, oid: remote.oid };

  const hold = run.state.hold;
  const decision = decideSync(run.state, head, run.live, !!run.opts.now);
  // the schedule's code loads only where windows are configured (the idle tick's modules are counted)
  const window = rt.config.sync.windows.length ? (await windowModule()).windowNow(rt.config.sync) : undefined;
  if (window && !window.open) {
    if (run.opts.now && decision.kind === "deploy") log.warn(`outside the deploy windows (sync.windows): deploying ${decision.sha.slice(0, 12)} anyway (--now)`);
    run.outsideWindow = !!run.opts.now;
    run.closed = { deploy: !run.opts.now, repair: !run.opts.now && !rt.config.sync.repair_outside_windows, ...(window.opensAt ? { opensAt: window.opensAt } : {}) };
  }
  const waits = decision.kind === "deploy" && !!run.closed?.deploy;
  if (hold && decision.liftHold) {
    log.info(`new commit ${head.slice(0, 12)} on ${rt.config.repository.branch}: lifting the rollback hold at ${hold.sha.slice(0, 12)}`);
  } else if (hold) {
    log.info(`held at ${hold.sha.slice(0, 12)} by \`konta rollback\` since ${hold.since}; a new commit or \`konta resume\` lifts the hold`);
  }
  const ending = await path(run, decision, source);
  // whatever the path: the head it saw, a hold a new commit lifted (once it is deployed), a
  // waiting commit that no longer waits (deployed, failed, or no longer the head)
  const stillWaits = waits && run.state.waiting?.sha === decision.sha;
  if (ending.outcome) ending.outcome = { ...ending.outcome, lastRemoteHead: head, ...(decision.liftHold && !waits ? { hold: null } : {}), ...(run.state.waiting && !stillWaits && !ending.outcome.waiting ? { waiting: null } : {}) };
  return ending;
}

async function path(run: SyncRun, decision: ReturnType<typeof decideSync>, source: GitSource): Promise<Ending> {
  switch (decision.kind) {
    case "idle":
      return idle(run, run.live, decision.result);
    case "skip": {
      const { sha, failed } = decision;
      log.warn(`skipping ${sha.slice(0, 12)}: it failed at ${failed.at} (${failed.error.split("\n")[0]}); push a new commit or run \`konta sync --now\` to retry`);
      const ending = await idle(run, run.live, "skipped");
      return { ...ending, report: { ...ending.report, message: `skipped ${sha.slice(0, 12)} (failed before); ${ending.report.message}` } };
    }
    case "deploy": {
      const waiting = run.state.waiting;
      // checked and planned by an earlier run outside the window: nothing to fetch until it opens
      if (run.closed?.deploy && waiting?.sha === decision.sha && run.rt.store.has(decision.sha)) {
        const ending = await idle(run, run.live, "waiting");
        const when = (await windowModule()).nextWindowText(run.rt.config.sync, run.closed.opensAt);
        return { ...ending, report: { ...ending.report, message: `${decision.sha.slice(0, 12)} waits for ${when}; ${ending.report.message}` } };
      }
      run.tried = decision.sha;
      return deployCommit(run, decision.sha, source);
    }
  }
}
