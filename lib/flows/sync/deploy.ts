// The deploy path of `konta sync`: fetch and check out a new commit, then converge the target on a
// release (a new commit, a drift repair or moved image tags on the live one): plan, pre.sh, images,
// apply; on success switch `current`, record state, success.sh, prune, notify.
import { diskFullError, DeployError, errorMessage, ExitCode } from "../../base/errors.ts";
import { failpoint } from "../../base/failpoint.ts";
import { settleHeap } from "../../base/heap.ts";
import { log, progress } from "../../base/log.ts";
import { redact } from "../../base/redact.ts";
import { step } from "../../base/steps.ts";
import { emptySummary, type Summary } from "../../base/summary.ts";
import { checkOwnership } from "../instances.ts";
import type { GitSource } from "../../git/remote.ts";
import { notify } from "../../notify/index.ts";
import { type CommitRecord, imagesOf, recordDeploy, recordRan, type ReleaseImages, rollbackTarget } from "../../state/index.ts";
import { observeContainers } from "../../targets/engine/observe.ts";
import { hasSecretFiles, pruneSecretFiles } from "../../targets/engine/secret-files.ts";
import type { Convergence } from "../../targets/index.ts";
import { fail } from "./failure.ts";
import { type ConvergeMode, gitModule, type SyncReport, type SyncRun, targetModule } from "./run.ts";

export async function deployCommit(run: SyncRun, sha: string, source: GitSource): Promise<SyncReport> {
  const rt = run.rt;
  const { checkoutTree, ensureCommit } = await gitModule();
  let fetched = sha;
  try {
    if (!rt.store.has(sha)) {
      progress(`fetching ${sha.slice(0, 12)} from ${redact(rt.config.repository.url)}`);
      fetched = await ensureCommit(source, rt.paths.repo, sha);
      step("fetch");
    }
    if (!rt.store.has(fetched)) {
      progress(`checking out ${fetched.slice(0, 12)}`);
      await rt.store.create(fetched, (dir) => checkoutTree(rt.paths.repo, fetched, dir, rt.config.repository.path));
      step("checkout");
    }
  } catch (err) {
    throw diskFullError(err, rt.paths.root) ?? err;
  }
  settleHeap();
  return converge(run, fetched, "deployed");
}

/** Make the target match release `sha`; a failed deploy puts back the live release. */
export async function converge(run: SyncRun, sha: string, mode: ConvergeMode): Promise<SyncReport> {
  const rt = run.rt;
  const docker = await rt.docker();
  const opts = rt.deployOptions(docker, run.state.expected, run.opts.dryRun);
  const { prepareConvergence, failure } = await targetModule();
  step("engine and deploy code");
  let c: Convergence;
  try {
    c = await prepareConvergence(rt.config.deploy.target, rt.release(sha), opts, keptImages(run, mode));
    checkOwnership(rt.ref, rt.family, c.projects);
  } catch (err) {
    return fail(run, sha, err, [], emptySummary(), mode);
  }
  const { changed } = c;
  if (run.opts.dryRun) {
    return run.report({ result: "planned", exitCode: ExitCode.ok, sha, plan: c.plan, stacks: c.stacks, projects: c.projects, message: planLine(sha, changed) });
  }
  let summary = emptySummary();
  try {
    if (mode === "deployed") {
      const code = await run.hook("pre", sha, changed);
      if (code !== undefined && code !== 0) {
        throw new DeployError(code === 124 ? "hooks/pre.sh timed out; nothing was changed" : `hooks/pre.sh exited with ${code}; nothing was changed`);
      }
    }
    await c.fetchImages(mode === "deployed");
    step("pre.sh and images");
    summary = await c.apply(sha);
    step("apply");
  } catch (err) {
    const f = await failure(err);
    return fail(run, sha, err, f.touched, f.summary ?? summary, mode, c.interrupted);
  }
  return succeed(run, sha, c, summary, mode);
}

/** A swarm's services are pinned to image digests: which to keep (see prepareConvergence). */
function keptImages(run: SyncRun, mode: ConvergeMode): ReleaseImages | undefined {
  if (run.rt.config.deploy.target !== "swarm" || mode === "deployed") return undefined;
  const kept = imagesOf(run.state.expected);
  for (const services of Object.values(kept)) for (const r of Object.values(services)) r.id = run.updates.find((u) => u.ref === r.image)?.digest ?? r.id;
  return kept;
}

async function succeed(run: SyncRun, sha: string, c: Convergence, summary: Summary, mode: ConvergeMode): Promise<SyncReport> {
  const rt = run.rt;
  const { changed } = c;
  failpoint("before-switch");
  if (run.live !== sha) rt.store.switchTo(sha);
  const info = await (await gitModule()).commitInfo(rt.paths.repo, sha).catch((): CommitRecord => ({ sha, message: "", author: "", date: "" }));
  if (mode === "deployed") recordDeploy(run.state, { ...info, deployedAt: new Date().toISOString(), trigger: "sync", durationMs: Date.now() - run.started });
  run.state.expected = await c.expected();
  run.state.expectedAt = sha;
  recordRan(run.state, sha, await c.ran(run.state.expected), (s) => rt.store.has(s));
  if (run.state.failed?.sha === sha || mode === "deployed") run.state.failed = undefined;
  step("switch and state");
  const images = run.updatedImages();
  if (mode === "updated") run.state.imageUpdates = { ...run.state.imageUpdates, updated: { at: new Date().toISOString(), images } };
  run.attempt(mode, sha);
  if (mode !== "repaired") {
    // the deploy stands whatever success.sh does
    const code = await run.hook("success", sha, changed, { summary }).catch((err) => log.error(`hooks/success.sh: ${errorMessage(err)}`));
    if (code) log.warn(`hooks/success.sh exited with ${code} (the deploy itself succeeded)`);
    if (mode === "deployed") await prune(run, c);
    await notify(rt.config.notify, { event: "success", commit: sha, projects: changed, summary, durationMs: Date.now() - run.started, ...(images.length ? { images } : {}) });
  }
  step("success.sh, prune, notify");
  const verb = mode === "deployed" ? "deployed" : mode === "updated" ? `updated ${images.join(", ")} at` : "repaired drift at";
  return run.report({
    result: mode,
    exitCode: ExitCode.ok,
    sha,
    previous: run.live,
    summary,
    plan: c.plan,
    stacks: c.stacks,
    message: `${verb} ${sha.slice(0, 12)}${info.message ? ` "${info.message.split("\n")[0]}"` : ""} in ${((Date.now() - run.started) / 1000).toFixed(1)}s`,
  });
}

/** Keep keep_releases releases, the live one, the rollback target and any a container still mounts. */
async function prune(run: SyncRun, c: Convergence): Promise<void> {
  const rt = run.rt;
  const protect = new Set<string>();
  const live = rt.store.current();
  if (live) protect.add(live);
  const target = rollbackTarget(run.state, (s) => rt.store.has(s));
  if (target) protect.add(target);
  for (const src of c.mounted()) {
    const m = src.startsWith(rt.paths.releases) ? /^\/?([0-9a-f]{40})/.exec(src.slice(rt.paths.releases.length + 1)) : null;
    if (m) protect.add(m[1] as string);
  }
  const removed = rt.store.prune(rt.config.deploy.keep_releases, protect);
  if (removed.length) log.debug(`releases: pruned ${removed.map((s) => s.slice(0, 12)).join(", ")}`);
  // decrypted secrets: those of this release, and any a container (now) mounts; the engine's list
  // (every container on the host) only when there is a file to keep or remove
  if (!hasSecretFiles(rt.paths.secrets)) return;
  const keep = new Set((await observeContainers(await rt.docker())).flatMap((x) => x.binds));
  for (const project of c.projects) for (const s of Object.values(project.services)) for (const m of [...(s.secrets ?? []), ...(s.configs ?? [])]) keep.add(m.source);
  const gone = pruneSecretFiles(rt.paths.secrets, keep);
  if (gone.length) log.debug(`secrets: removed ${gone.length} decrypted file(s) no container uses`);
}

function planLine(sha: string, changed: string[]): string {
  return changed.length ? `${sha.slice(0, 12)} would change ${changed.join(", ")}` : `${sha.slice(0, 12)}: nothing would change`;
}
