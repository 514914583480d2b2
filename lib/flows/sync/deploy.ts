// The deploy path of `konta sync`: fetch and check out a new commit, then converge the target on a
// release (a new commit, a drift repair or moved image tags on the live one): plan, pre.sh, images,
// apply; on success the Outcome that switches `current`, records state, runs success.sh, prunes
// and notifies (recorded by ../transition.ts).
import { existsSync, realpathSync, statSync } from "node:fs";
import { diskFullError, DeployError, ExitCode, InputError } from "../../base/errors.ts";
import { isInside } from "../../base/fsutil.ts";
import { settleHeap } from "../../base/heap.ts";
import { log, progress } from "../../base/log.ts";
import { redact } from "../../base/redact.ts";
import { step } from "../../base/steps.ts";
import { emptySummary, type Summary } from "../../base/summary.ts";
import { checkOwnership } from "../instances.ts";
import type { GitSource } from "../../git/remote.ts";
import { type CommitRecord, rollbackTarget } from "../../state/index.ts";
import type { Convergence, ConvergeMode } from "../../targets/index.ts";
import { postStatuses, releaseHook, type Outcome } from "../transition.ts";
import { hostname } from "node:os";
import { fail } from "./failure.ts";
import { type Ending, gitModule, type SyncRun, windowModule } from "./run.ts";

export async function deployCommit(run: SyncRun, sha: string, source: GitSource): Promise<Ending> {
  const rt = run.rt;
  const { checkoutTree, ensureCommit } = await gitModule();
  let fetched = sha;
  let signer: string | undefined;
  try {
    if (!rt.store.has(sha) || rt.config.repository.verify) {
      progress(`fetching ${sha.slice(0, 12)} from ${redact(rt.config.repository.url)}`);
      fetched = await ensureCommit(source, rt.paths.repo, sha);
      run.tried = fetched;
      step("fetch");
    }
  } catch (err) {
    throw diskFullError(err, rt.paths.root) ?? err;
  }
  if (rt.config.repository.verify) {
    // before anything of the commit is written out or run: not even its failure.sh (the live
    // release's runs instead)
    try {
      signer = await verifyRelease(rt, fetched, run.tag);
      log.info(`${fetched.slice(0, 12)}: signed by ${signer}`);
    } catch (err) {
      return fail(run, fetched, err, [], emptySummary(), "deployed", false, run.live ?? "");
    }
  }
  try {
    if (!rt.store.has(fetched)) {
      progress(`checking out ${fetched.slice(0, 12)}`);
      await rt.store.create(fetched, (dir) => checkoutTree(rt.paths.repo, fetched, dir, rt.config.repository.path));
      step("checkout");
    }
  } catch (err) {
    throw diskFullError(err, rt.paths.root) ?? err;
  }
  settleHeap();
  return converge(run, fetched, "deployed", { ...(signer ? { signer } : {}), ...(run.tag ? { tag: run.tag.name } : {}) });
}

/**
 * Who signed the commit to deploy (repository.verify.mode head) or the annotated tag that names it
 * (mode tag), by the server's trust anchors; an InputError naming the object and why otherwise.
 */
async function verifyRelease(rt: SyncRun["rt"], sha: string, tag: SyncRun["tag"]): Promise<string> {
  const v = rt.config.repository.verify as NonNullable<typeof rt.config.repository.verify>;
  checkAnchors(rt, [v.ssh_allowed_signers, v.gpg_keyring]);
  const [{ readSignedCommit, readSignedTag }, { verifySignature }] = await Promise.all([import("../../git/read.ts"), import("../../git/verify.ts")]);
  if (v.mode === "tag") {
    if (!tag) throw new InputError(`${sha.slice(0, 12)} is named by no tag, and repository.verify.mode: tag checks the tag's signature`);
    const t = await readSignedTag(rt.paths.repo, tag.oid);
    if (!t) throw new InputError(`tag ${tag.name} is a lightweight tag: it carries no signature`, { hint: "tag releases with annotated, signed tags (git tag -s), or verify the commits (mode: head)" });
    return (await verifySignature(t, v, `tag ${tag.name} (${sha.slice(0, 12)})`)).signer;
  }
  return (await verifySignature(await readSignedCommit(rt.paths.repo, sha), v, `commit ${sha.slice(0, 12)}`)).signer;
}

/** The trust anchors are the server's: files outside the state dir (the repository's checkouts), there, and written by no one else. */
function checkAnchors(rt: SyncRun["rt"], files: (string | undefined)[]): void {
  for (const f of files) {
    if (!f) continue;
    if (!existsSync(f)) throw new InputError(`repository.verify: ${f} does not exist`, { hint: "put the server's trust anchors there (docs/signing.md)" });
    const real = realpathSync(f);
    if (isInside(realpathSync(rt.paths.root), real)) {
      throw new InputError(`repository.verify: ${f} is inside the state dir ${rt.paths.root} (the releases of the repository it would verify)`, { hint: "keep the trust anchors beside the config, in /etc/konta" });
    }
    const mode = statSync(real).mode & 0o777;
    if (mode & 0o022) throw new InputError(`repository.verify: ${f} is writable by group or others (mode ${mode.toString(8)}): anyone could make a key trusted`, { hint: `run: chmod 644 ${f}` });
  }
}

/** Make the target match release `sha`; a failed deploy puts back the live release. `release`: the tag that named it and who signed it. */
export async function converge(run: SyncRun, sha: string, mode: ConvergeMode, release: { tag?: string; signer?: string } = {}): Promise<Ending> {
  const rt = run.rt;
  const target = rt.target();
  const docker = await rt.docker();
  const opts = rt.deployOptions(docker, run.state.expected, run.opts.dryRun);
  step("engine and deploy code");
  let c: Convergence;
  try {
    c = await target.prepare(rt.release(sha), opts, await target.pins(mode, run.state.expected, run.updates));
    checkOwnership(rt.ref, rt.family, c.projects);
  } catch (err) {
    return fail(run, sha, err, [], emptySummary(), mode);
  }
  const { changed } = c;
  if (run.opts.dryRun) {
    return { report: run.report({ result: "planned", exitCode: ExitCode.ok, sha, plan: c.plan, projects: c.projects, message: planLine(sha, changed) }) };
  }
  if (mode === "deployed" && run.closed?.deploy) return waitForWindow(run, sha, c, release);
  let summary = emptySummary();
  try {
    if (mode === "deployed") {
      await postStatuses(rt, [{ sha, state: "pending", description: `deploying on ${hostname()}` }]);
      const code = await releaseHook(rt, "pre", { commit: sha, previous: run.live, projects: changed });
      if (code !== undefined && code !== 0) {
        throw new DeployError(code === 124 ? "hooks/pre.sh timed out; nothing was changed" : `hooks/pre.sh exited with ${code}; nothing was changed`);
      }
    }
    await c.fetchImages(mode === "deployed");
    step("pre.sh and images");
    summary = await c.apply(sha);
    step("apply");
  } catch (err) {
    const f = await target.failure(err);
    return fail(run, sha, err, f.touched, f.summary ?? summary, mode, c.interrupted);
  }
  return succeed(run, sha, c, summary, mode, release);
}

async function succeed(run: SyncRun, sha: string, c: Convergence, summary: Summary, mode: ConvergeMode, release: { tag?: string; signer?: string }): Promise<Ending> {
  const rt = run.rt;
  const { changed } = c;
  const info = await (await gitModule()).commitInfo(rt.paths.repo, sha).catch((): CommitRecord => ({ sha, message: "", author: "", date: "" }));
  const expected = await c.expected();
  const ran = await c.ran(expected);
  step("switch and state");
  const images = run.updatedImages();
  const durationMs = () => Date.now() - run.started;
  const outcome: Outcome = {
    result: mode,
    sha,
    expected: { sha, services: expected, ran },
    ...(mode === "deployed" ? { live: { sha, info, trigger: "sync" as const, ...release } } : {}),
    ...(run.state.failed?.sha === sha || mode === "deployed" ? { failed: null } : {}),
    ...(Object.values(expected).some((e) => e.secrets) ? { secretsCheckedAt: new Date().toISOString() } : {}),
    ...(mode === "updated" ? { imageUpdates: { updated: { at: new Date().toISOString(), images } } } : {}),
    // (a repair goes into the history too, but tells no one)
    history: { kind: mode === "deployed" ? "deploy" : mode === "repaired" ? "repair" : "image-update", trigger: run.trigger, previous: run.live, summary, images, info, ...(run.outsideWindow ? { outsideWindow: true } : {}) },
    ...(mode !== "repaired"
      ? {
          hook: { event: "success", sha, previous: run.live, projects: changed, summary, images },
          notify: { event: "success", commit: sha, projects: changed, summary, durationMs: durationMs(), ...(images.length ? { images } : {}) },
        }
      : {}),
    ...(mode === "deployed" ? { prune: () => prune(run, c), statuses: [{ sha, state: "success" as const, description: `live on ${hostname()}, deployed in ${(durationMs() / 1000).toFixed(1)} s` }] } : {}),
  };
  const verb = mode === "deployed" ? "deployed" : mode === "updated" ? `updated ${images.join(", ")} at` : "repaired drift at";
  const report = run.report({
    result: mode,
    exitCode: ExitCode.ok,
    sha,
    previous: run.live,
    summary,
    plan: c.plan,
    message: `${verb} ${sha.slice(0, 12)}${info.message ? ` "${info.message.split("\n")[0]}"` : ""} in ${(durationMs() / 1000).toFixed(1)}s`,
  });
  return { report, outcome };
}

/**
 * Outside the deploy windows: the commit is fetched, verified, checked out and planned (a commit
 * that would be refused has failed by now, at once), and waits; the first run inside a window
 * deploys it without fetching again. Told on the commit as a pending status and once in the history.
 */
async function waitForWindow(run: SyncRun, sha: string, c: Convergence, release: { tag?: string }): Promise<Ending> {
  const { nextWindowText } = await windowModule();
  const sync = run.rt.config.sync;
  const opensAt = run.closed?.opensAt?.toISOString();
  const when = nextWindowText(sync, opensAt);
  log.info(`${sha.slice(0, 12)} is checked and planned (${c.changed.length ? `changes ${c.changed.join(", ")}` : "no change"}); it waits for ${when}`);
  return {
    report: run.report({ result: "waiting", exitCode: ExitCode.ok, sha, plan: c.plan, projects: c.projects, message: `${sha.slice(0, 12)} waits for ${when}` }),
    outcome: {
      result: "waiting",
      sha,
      waiting: { sha, since: new Date().toISOString(), ...(opensAt ? { opensAt } : {}), ...(release.tag ? { tag: release.tag } : {}) },
      history: { kind: "waiting", trigger: run.trigger, previous: run.live, ...(opensAt ? { opensAt } : {}) },
      statuses: [{ sha, state: "pending", description: `waiting for ${when.replace(/^the /, "")}` }],
    },
  };
}

/** Keep keep_releases releases, the live one, the rollback target and any a container still mounts; files no container uses. */
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
  const files = await rt.target().pruneFiles(await rt.docker(), rt.paths.secrets, c.projects);
  if (files) log.debug(`secrets: removed ${files} decrypted file(s) no container uses`);
}

function planLine(sha: string, changed: string[]): string {
  return changed.length ? `${sha.slice(0, 12)} would change ${changed.join(", ")}` : `${sha.slice(0, 12)}: nothing would change`;
}
