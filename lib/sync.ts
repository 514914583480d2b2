// One `konta sync` run (DESIGN section 3): lock, ask the remote for its head, and only when it
// differs from the live release fetch, check out, validate, run hooks and converge the engine;
// switch `current`, record state, exit. With no new commit it still repairs drift.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedProject } from "./compose/index.ts";
import { DeployError, diskFullError, errorMessage, ExitCode, KontaError } from "./errors.ts";
import { failpoint } from "./failpoint.ts";
import { remoteHead } from "./git/head.ts";
import type { GitSource } from "./git/remote.ts";
import { type HookContext, type HookEvent, hookPath, runHook } from "./hooks/index.ts";
import { acquireLock } from "./lock.ts";
import { log, progress } from "./log.ts";
import { notify } from "./notify.ts";
import { emptySummary, type Summary } from "./reconcile/summary.ts";
import { detectDrift, type DriftItem } from "./reconcile/drift.ts";
import { observeContainers } from "./reconcile/observe.ts";
import type { Plan } from "./reconcile/plan.ts";
import { redact } from "./redact.ts";
import { pruneSecretFiles } from "./reconcile/secret-files.ts";
import type { Runtime } from "./runtime.ts";
import { type AttemptResult, type CommitRecord, decideSync, imageCheckDue, readState, recordDeploy, rollbackTarget, type State, writeState } from "./state.ts";
import type { PendingUpdate } from "./image-updates.ts";
import type { StackPlan } from "./swarm/stack.ts";
import type { Convergence } from "./target.ts";

export interface SyncOptions {
  /** retry a remembered failed commit and show progress */
  now?: boolean;
  /** plan only, change nothing */
  dryRun?: boolean;
  /** seconds to wait for another run's lock */
  wait?: number;
}

export interface SyncReport {
  result: AttemptResult | "planned";
  exitCode: ExitCode;
  message: string;
  sha?: string;
  previous?: string;
  summary?: Summary;
  plan?: Plan;
  /** deploy.target: swarm: the plan, per stack */
  stacks?: StackPlan[];
  /** the release's projects, for explaining a plan */
  projects?: LoadedProject[];
  drift?: DriftItem[];
  error?: string;
  hint?: string;
  durationMs: number;
}

// The loader, planner, engine code and isomorphic-git load only when there is something to fetch or
// converge: an idle tick runs without them (its peak RSS is a target).
const targetModule = () => import("./target.ts");

/** deployed: a new commit; repaired: drift on the live release; updated: moved image tags on it. */
type ConvergeMode = "deployed" | "repaired" | "updated";
const gitModule = () => import("./git/index.ts");

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


class SyncRun {
  private readonly started = Date.now();
  private state!: State;
  private live: string | undefined;
  /** the moved tags an "updated" converge is deploying */
  private updates: PendingUpdate[] = [];

  constructor(
    private readonly rt: Runtime,
    private readonly opts: SyncOptions,
  ) {}

  /** image references an "updated" converge is bringing (none for a deploy or a repair) */
  private updatedImages(): string[] {
    return this.updates.map((u) => u.ref);
  }

  private report(r: Omit<SyncReport, "durationMs">): SyncReport {
    return { ...r, durationMs: Date.now() - this.started };
  }

  private attempt(result: AttemptResult, sha: string | undefined, error?: string): void {
    this.state.lastAttempt = { sha, at: new Date().toISOString(), result, durationMs: Date.now() - this.started, ...(error ? { error: redact(error) } : {}) };
    if (!this.opts.dryRun) writeState(this.rt.paths.state, this.state);
  }

  async run(): Promise<SyncReport> {
    const rt = this.rt;
    rt.ensureStateDirs();
    const lock = await acquireLock(rt.paths.lock, "konta sync", this.opts.wait ?? 0);
    try {
      rt.store.cleanTemporaries();
      this.live = rt.store.current();
      this.state = await loadState(rt, this.live);
      return await this.decide();
    } finally {
      lock.release();
    }
  }

  private async decide(): Promise<SyncReport> {
    const rt = this.rt;
    let head: string;
    let source: GitSource;
    try {
      source = await rt.gitSource();
      head = (await remoteHead(source)).sha;
    } catch (err) {
      if (err instanceof KontaError) this.attempt("failed", undefined, err.message);
      throw err;
    }
    this.state.lastRemoteHead = head;

    const hold = this.state.hold;
    const decision = decideSync(this.state, head, this.live, !!this.opts.now);
    if (hold && decision.liftHold) {
      log.info(`new commit ${head.slice(0, 12)} on ${rt.config.repository.branch}: lifting the rollback hold at ${hold.sha.slice(0, 12)}`);
      this.state.hold = undefined;
    } else if (hold) {
      log.info(`held at ${hold.sha.slice(0, 12)} by \`konta rollback\` since ${hold.since}; a new commit or \`konta resume\` lifts the hold`);
    }
    switch (decision.kind) {
      case "idle":
        return this.idle(this.live, decision.result);
      case "skip": {
        const { sha, failed } = decision;
        log.warn(`skipping ${sha.slice(0, 12)}: it failed at ${failed.at} (${failed.error.split("\n")[0]}); push a new commit or run \`konta sync --now\` to retry`);
        const report = await this.idle(this.live, "skipped");
        return { ...report, message: `skipped ${sha.slice(0, 12)} (failed before); ${report.message}` };
      }
      case "deploy":
        return this.deployCommit(decision.sha, source);
    }
  }

  /** No new commit: check for drift against what state remembers, repair it if there is any. */
  private async idle(sha: string | undefined, result: AttemptResult): Promise<SyncReport> {
    const short = sha ? sha.slice(0, 12) : "nothing";
    if (!sha) return this.report({ result, exitCode: ExitCode.ok, message: `nothing deployed yet and nothing to deploy` });
    // state lost, damaged, imported or from an older Konta: what should run comes from the live
    // release itself, so drift (a container removed by hand meanwhile) is still repaired
    if (this.state.expectedAt !== sha) {
      log.info(`state: no record of what ${short} runs; converging on the live release`);
      return this.converge(sha, "repaired");
    }
    const drift = await this.drift(sha);
    if (!drift.length) {
      const updated = await this.updateImages(sha);
      if (updated) return updated;
      if (!this.opts.dryRun && (this.state.lastAttempt?.result !== result || this.state.lastAttempt?.sha !== sha)) this.attempt(result, sha);
      return this.report({ result, exitCode: ExitCode.ok, sha, message: `${result === "held" ? "held" : "up to date"} at ${short}` });
    }
    for (const d of drift) log.warn(`drift: ${d.project}${d.service ? `/${d.service}` : ""}: ${d.what}`);
    if (this.opts.dryRun) return this.report({ result: "planned", exitCode: ExitCode.ok, sha, drift, message: `drift found at ${short}; a sync would repair it` });
    const report = await this.converge(sha, "repaired");
    return { ...report, drift };
  }

  /** What no longer matches state.expected: one listing of the managed containers (or the stacks' services). */
  private async drift(sha: string): Promise<DriftItem[]> {
    const rt = this.rt;
    const docker = await rt.docker();
    const opts = { prune: rt.config.deploy.prune_removed_apps, hostInputs: (project: string) => rt.hostInputs(sha, project), instance: rt.instance };
    if (rt.config.deploy.target === "swarm") {
      const [{ swarmDrift }, { observeServices }] = await Promise.all([import("./swarm/drift.ts"), import("./swarm/stack.ts")]);
      return swarmDrift(this.state.expected, await observeServices(docker), opts);
    }
    return detectDrift(this.state.expected, await observeContainers(docker, true), opts);
  }

  /**
   * Due for a registry check and a followed tag moved: pull it and converge the live release on it
   * (rolled back to the old image on failure). Undefined when there is nothing to update.
   */
  private async updateImages(sha: string): Promise<SyncReport | undefined> {
    const rt = this.rt;
    const u = this.state.imageUpdates;
    const followed = Object.values(this.state.expected).some((p) => Object.values(p.services).some((t) => t.imageUpdates));
    if (this.opts.dryRun || !followed || !imageCheckDue(u, rt.config.deploy.image_update_interval)) return undefined;
    const swarm = rt.config.deploy.target === "swarm";
    const docker = await rt.docker();
    // a swarm's nodes pull the new digest themselves
    const updates = swarm
      ? await (await import("./swarm/images.ts")).findSwarmUpdates(docker, this.state.expected, u?.failed ?? {})
      : await (await import("./image-updates.ts")).findUpdates(docker, this.state.expected, u?.failed ?? {});
    this.state.imageUpdates = { ...u, checkedAt: new Date().toISOString() };
    if (!updates.length) {
      writeState(rt.paths.state, this.state);
      return undefined;
    }
    const { pullImage } = await import("./docker/images.ts");
    for (const { ref, digest } of updates) {
      progress(`image updates: ${ref} moved to ${digest.slice(0, 19)}${swarm ? "" : "; pulling it"}`);
      if (swarm) continue;
      try {
        await pullImage(docker, ref);
      } catch (err) {
        log.warn(`image updates: ${errorMessage(err)}; the next due check tries again`);
        this.state.imageUpdates.checkedAt = undefined;
        return undefined;
      }
    }
    this.updates = updates;
    return this.converge(sha, "updated");
  }

  private async deployCommit(sha: string, source: GitSource): Promise<SyncReport> {
    const rt = this.rt;
    const { checkoutTree, ensureCommit } = await gitModule();
    let fetched = sha;
    try {
      if (!rt.store.has(sha)) {
        progress(`fetching ${sha.slice(0, 12)} from ${redact(rt.config.repository.url)}`);
        fetched = await ensureCommit(source, rt.paths.repo, sha);
      }
      if (!rt.store.has(fetched)) {
        progress(`checking out ${fetched.slice(0, 12)}`);
        await rt.store.create(fetched, (dir) => checkoutTree(rt.paths.repo, fetched, dir, rt.config.repository.path));
      }
    } catch (err) {
      throw diskFullError(err, rt.paths.root) ?? err;
    }
    return this.converge(fetched, "deployed");
  }

  /** Run a hook of release `sha` if it has one; success and failure hooks get a JSON summary file. */
  private async hook(event: HookEvent, sha: string, projects: string[], result?: { summary: Summary; error?: string }): Promise<number | undefined> {
    const ctx: HookContext = { commit: sha, previous: this.live, releaseDir: this.rt.store.root(sha), projects, error: result?.error };
    if (!hookPath(ctx.releaseDir, event, this.rt.config.hooks.files?.[event])) return undefined;
    if (result) {
      ctx.summaryFile = join(this.rt.runDir(), "summary.json");
      const images = this.updatedImages();
      const doc = { commit: sha, previous: this.live ?? null, projects, ...result.summary, ...(images.length ? { images } : {}), error: result.error ? redact(result.error) : null };
      writeFileSync(ctx.summaryFile, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
      ctx.args = result.error !== undefined ? [redact(result.error)] : [originalResult(result.summary)];
    }
    return (await runHook(event, ctx, this.rt.config.hooks)).exitCode;
  }

  /** Make the engine match release `sha`; a failed deploy puts back the live release. */
  private async converge(sha: string, result: ConvergeMode): Promise<SyncReport> {
    const rt = this.rt;
    const docker = await rt.docker();
    const opts = rt.deployOptions(docker, this.state.expected);
    const { prepareConvergence, failure } = await targetModule();
    let run: Convergence;
    try {
      run = await prepareConvergence(rt.config.deploy.target, rt.release(sha), opts, await this.keptImages(result));
    } catch (err) {
      return this.fail(sha, err, [], emptySummary(), result);
    }
    const { changed } = run;
    if (this.opts.dryRun) {
      return this.report({ result: "planned", exitCode: ExitCode.ok, sha, plan: run.plan, stacks: run.stacks, projects: run.projects, message: planLine(sha, changed) });
    }
    let summary = emptySummary();
    try {
      if (result === "deployed") {
        const code = await this.hook("pre", sha, changed);
        if (code !== undefined && code !== 0) {
          throw new DeployError(code === 124 ? "hooks/pre.sh timed out; nothing was changed" : `hooks/pre.sh exited with ${code}; nothing was changed`);
        }
      }
      await run.fetchImages(result === "deployed");
      summary = await run.apply(sha);
    } catch (err) {
      const f = await failure(err);
      return this.fail(sha, err, f.touched, f.summary ?? summary, result);
    }
    return this.succeed(sha, run, summary, result);
  }

  /** A swarm's services are pinned to image digests: which to keep (see prepareConvergence). */
  private async keptImages(result: ConvergeMode): Promise<Map<string, string> | undefined> {
    if (this.rt.config.deploy.target !== "swarm" || result === "deployed") return undefined;
    const kept = (await import("./swarm/images.ts")).pinnedDigests(this.state.expected);
    for (const u of this.updates) kept.set(u.ref, u.digest);
    return kept;
  }

  private async succeed(sha: string, run: Convergence, summary: Summary, result: ConvergeMode): Promise<SyncReport> {
    const rt = this.rt;
    const { changed } = run;
    failpoint("before-switch");
    if (this.live !== sha) rt.store.switchTo(sha);
    const info = await (await gitModule()).commitInfo(rt.paths.repo, sha).catch((): CommitRecord => ({ sha, message: "", author: "", date: "" }));
    if (result === "deployed") recordDeploy(this.state, { ...info, deployedAt: new Date().toISOString(), trigger: "sync", durationMs: Date.now() - this.started });
    this.state.expected = await run.expected();
    this.state.expectedAt = sha;
    if (this.state.failed?.sha === sha || result === "deployed") this.state.failed = undefined;
    const images = this.updatedImages();
    if (result === "updated") this.state.imageUpdates = { ...this.state.imageUpdates, updated: { at: new Date().toISOString(), images } };
    this.attempt(result, sha);
    if (result !== "repaired") {
      // the deploy stands whatever success.sh does
      const code = await this.hook("success", sha, changed, { summary }).catch((err) => log.error(`hooks/success.sh: ${errorMessage(err)}`));
      if (code) log.warn(`hooks/success.sh exited with ${code} (the deploy itself succeeded)`);
      if (result === "deployed") await this.prune(run);
      await notify(rt.config.notify, { event: "success", commit: sha, projects: changed, summary, durationMs: Date.now() - this.started, ...(images.length ? { images } : {}) });
    }
    const verb = result === "deployed" ? "deployed" : result === "updated" ? `updated ${images.join(", ")} at` : "repaired drift at";
    return this.report({
      result,
      exitCode: ExitCode.ok,
      sha,
      previous: this.live,
      summary,
      plan: run.plan,
      stacks: run.stacks,
      message: `${verb} ${sha.slice(0, 12)}${info.message ? ` "${info.message.split("\n")[0]}"` : ""} in ${((Date.now() - this.started) / 1000).toFixed(1)}s`,
    });
  }

  /**
   * A failed deploy: put the touched projects back to the live release, remember the commit so
   * timer runs do not retry it every tick, run failure.sh. A failed drift repair has nothing to go
   * back to and is simply reported (and retried next tick).
   */
  private async fail(sha: string, err: unknown, touched: string[], summary: Summary, mode: ConvergeMode): Promise<SyncReport> {
    const rt = this.rt;
    const { failure, rollBack: rollBackFailure } = await targetModule();
    const e = err instanceof KontaError ? err : new DeployError(errorMessage(err));
    const f = await failure(err);
    if (e.exitCode === ExitCode.unreachable && !f.touched.length && !f.engineLost) {
      this.attempt("failed", sha, e.message);
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
        : await rollBackFailure(err, `deploy of ${sha.slice(0, 12)}`, this.live ? rt.release(this.live) : undefined, rt.deployOptions(await rt.docker()), this.state.expected);
    const message = `${e.message}${rollBack ? (restored ? " (rolled back)" : " (rollback failed too; see the log)") : ""}`;
    if (mode === "deployed" && !engineLost) this.state.failed = { sha, at: new Date().toISOString(), error: redact(e.message) };
    if (mode === "updated" && !engineLost) {
      // the engine's local tags point at the failed image; a swarm's services are put back to their digests
      if (rt.config.deploy.target !== "swarm") await (await import("./image-updates.ts")).restoreTags(await rt.docker(), this.state.expected, this.updatedImages());
      // not tried again until another image is pushed under the tag
      const failed = { ...this.state.imageUpdates?.failed, ...Object.fromEntries(this.updates.map((u) => [u.ref, u.digest])) };
      this.state.imageUpdates = { ...this.state.imageUpdates, failed };
    }
    this.attempt("failed", sha, message);
    if (mode !== "repaired" && rt.store.has(sha)) {
      await this.hook("failure", sha, touched, { summary, error: e.message }).catch((err) => log.error(`hooks/failure.sh: ${errorMessage(err)}`));
    }
    await notify(rt.config.notify, { event: "failure", commit: sha, projects: touched, summary, error: e.message, durationMs: Date.now() - this.started });
    return this.report({
      result: "failed",
      exitCode: engineLost ? ExitCode.unreachable : e.exitCode === ExitCode.badInput ? ExitCode.badInput : ExitCode.deployFailed,
      sha,
      previous: this.live,
      summary,
      error: redact(e.message),
      hint: e.hint,
      message: `deploy of ${sha.slice(0, 12)} failed: ${redact(message)}`,
    });
  }

  /** Keep keep_releases releases, the live one, the rollback target and any a container still mounts. */
  private async prune(run: Convergence): Promise<void> {
    const rt = this.rt;
    const protect = new Set<string>();
    const live = rt.store.current();
    if (live) protect.add(live);
    const target = rollbackTarget(this.state, (s) => rt.store.has(s));
    if (target) protect.add(target);
    for (const src of run.mounted()) {
      const m = src.startsWith(rt.paths.releases) ? /^\/?([0-9a-f]{40})/.exec(src.slice(rt.paths.releases.length + 1)) : null;
      if (m) protect.add(m[1] as string);
    }
    const removed = rt.store.prune(rt.config.deploy.keep_releases, protect);
    if (removed.length) log.debug(`releases: pruned ${removed.map((s) => s.slice(0, 12)).join(", ")}`);
    // decrypted secrets: those of this release, and any a container (now) mounts
    const keep = new Set((await observeContainers(await rt.docker())).flatMap((c) => c.binds));
    for (const project of run.projects) for (const s of Object.values(project.services)) for (const m of s.secrets ?? []) keep.add(m.source);
    const gone = pruneSecretFiles(rt.paths.secrets, keep);
    if (gone.length) log.debug(`secrets: removed ${gone.length} decrypted file(s) no container uses`);
  }
}

/** The original Konta's `$1` for success.sh: the projects each kind of change touched. */
function originalResult(s: Summary): string {
  const projects = (list: string[]) => [...new Set(list.map((x) => x.split("/")[0] as string))];
  return JSON.stringify({ updated: projects(s.updated), added: projects(s.added), removed: projects(s.removed), started: projects(s.started) });
}

function planLine(sha: string, changed: string[]): string {
  return changed.length ? `${sha.slice(0, 12)} would change ${changed.join(", ")}` : `${sha.slice(0, 12)}: nothing would change`;
}

export function sync(rt: Runtime, opts: SyncOptions = {}): Promise<SyncReport> {
  return new SyncRun(rt, opts).run();
}
