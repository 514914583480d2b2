// `konta rollback [<sha>]`: point `current` back at a kept release and apply it with the images it
// ran then (state.ran), not what its tags point at now. Images are local, so this is Konta's own
// time plus container starts. Timer runs then hold at that release until a new commit appears on
// the branch or `konta resume` is run.
import { DeployError, errorMessage, InputError, KontaError } from "../base/errors.ts";
import { acquireLock } from "../base/lock.ts";
import type { Summary } from "../base/summary.ts";
import { commitInfo } from "../git/index.ts";
import type { Runtime } from "./runtime.ts";
import { log } from "../base/log.ts";
import { step } from "../base/steps.ts";
import { type DeployRecord, readState, rollbackTarget } from "../state/index.ts";
import { applyOutcome } from "./transition.ts";
import { hostname } from "node:os";
import { writeTextfile } from "./metrics.ts";
import { checkOwnership } from "./instances.ts";

export interface RollbackReport {
  sha: string;
  from?: string;
  summary: Summary;
  /** Konta's whole run */
  durationMs: number;
}

/** A full SHA of a kept release from a prefix (at least 4 characters), or the tag that named one (repository.tag). */
export function resolveRelease(rt: Runtime, ref: string, history: DeployRecord[] = []): string {
  const tagged = history.find((h) => h.tag === ref && rt.store.has(h.sha));
  if (tagged) return tagged.sha;
  if (!/^[0-9a-f]{4,40}$/.test(ref)) {
    throw new InputError(`"${ref}" is not a commit SHA (or a prefix of at least 4 hex characters), nor the tag of a kept release`, { hint: "see the kept releases with: konta releases" });
  }
  const matches = rt.store.list().filter((r) => r.sha.startsWith(ref));
  if (matches.length === 1) return (matches[0] as { sha: string }).sha;
  if (!matches.length) throw new InputError(`no kept release matches ${ref}`, { hint: "see the kept releases with: konta releases" });
  throw new InputError(`${ref} matches ${matches.length} releases; give more characters`);
}

export async function rollback(rt: Runtime, ref: string | undefined, wait = 0): Promise<RollbackReport> {
  try {
    return await rollbackLocked(rt, ref, wait);
  } finally {
    await writeTextfile(rt);
  }
}

async function rollbackLocked(rt: Runtime, ref: string | undefined, wait: number): Promise<RollbackReport> {
  const started = Date.now();
  step("runtime and config");
  rt.ensureStateDirs();
  const lock = await acquireLock(rt.paths.lock, "konta rollback", wait);
  try {
    const { state } = readState(rt.paths.state);
    step("lock and state");
    const live = rt.store.current();
    const target = ref ? resolveRelease(rt, ref, state.history) : rollbackTarget(state, (s) => rt.store.has(s));
    if (!target) {
      throw new InputError("there is no previous release to roll back to", { hint: "see the kept releases with: konta releases" });
    }
    if (target === live) throw new InputError(`${target.slice(0, 12)} is already the live release`);
    // with repository.verify: only back to a release whose signature was verified when it went live
    const signer = state.verified?.[target];
    if (rt.config.repository.verify && !signer) {
      throw new InputError(`release ${target.slice(0, 12)} was not verified (it went live before repository.verify was set, or by an older Konta); nothing was changed`, {
        hint: "roll back to a verified release (konta releases), or deploy a signed commit",
      });
    }
    const tag = state.history.find((h) => h.sha === target && h.tag)?.tag;
    const port = rt.target();
    const docker = await rt.docker();
    const opts = rt.deployOptions(docker, state.expected);
    const pins = state.ran?.[target];
    if (pins) await port.ensureImages(docker, pins);
    else log.info(`no record of the images ${target.slice(0, 12)} ran (deployed by an older Konta); its services run what their tags point at now`);
    step("engine and pinned images");
    const run = await port.prepare(rt.release(target), opts, pins);
    checkOwnership(rt.ref, rt.family, run.projects);
    let summary: Summary;
    try {
      summary = await run.apply(target);
      step("apply");
    } catch (err) {
      const { rolledBack, restored } = live ? await port.rollBack(err, `rollback to ${target.slice(0, 12)}`, rt.release(live), opts, state.expected) : { rolledBack: false, restored: false };
      const e = err instanceof KontaError ? err : new DeployError(errorMessage(err));
      const final = rolledBack ? new DeployError(`${e.message}${restored ? ` (${live?.slice(0, 12)} put back)` : " (putting back the live release failed too; see the log)"}`, e.hint ? { hint: e.hint } : {}) : e;
      // a failed rollback leaves state as it was but for its entry in the history
      await applyOutcome(rt, state, { result: "failed", sha: target, error: final.message, attempt: false, history: { kind: "rollback", trigger: "rollback", previous: live, rolledBack: restored } }, started);
      throw final;
    }
    const info = await commitInfo(rt.paths.repo, target).catch(() => state.history.find((h) => h.sha === target) ?? { sha: target, message: "", author: "", date: "" });
    const expected = await run.expected();
    const durationMs = Date.now() - started;
    await applyOutcome(
      rt,
      state,
      {
        result: "rolled-back",
        sha: target,
        live: { sha: target, info, trigger: "rollback", ...(live ? { replaced: live } : {}), ...(tag ? { tag } : {}), ...(signer ? { signer } : {}) },
        expected: { sha: target, services: expected, ran: await run.ran(expected) },
        // hold timer runs here until the branch moves past what it pointed at when the operator stepped in
        hold: { sha: target, since: new Date().toISOString(), until: "a new commit on the branch or `konta resume`", ignore: [...new Set([live, state.lastRemoteHead].filter((s): s is string => !!s))] },
        history: { kind: "rollback", trigger: "rollback", previous: live, summary, info },
        notify: { event: "rollback", commit: target, projects: run.changed, summary, durationMs },
        // on the commits: the one it left failed (rolled back), the one it returned to live again
        statuses: [
          ...(live ? [{ sha: live, state: "failure" as const, description: `rolled back on ${hostname()} to ${target.slice(0, 12)} (konta rollback)` }] : []),
          { sha: target, state: "success", description: `live again on ${hostname()} (konta rollback from ${live?.slice(0, 12) ?? "nothing"})` },
        ],
      },
      started,
    );
    step("switch, state, notify");
    return { sha: target, from: live, summary, durationMs };
  } finally {
    lock.release();
  }
}

export async function resume(rt: Runtime, wait = 0): Promise<string | undefined> {
  const started = Date.now();
  rt.ensureStateDirs();
  const lock = await acquireLock(rt.paths.lock, "konta resume", wait);
  try {
    const { state } = readState(rt.paths.state);
    const held = state.hold?.sha;
    if (!held) return undefined;
    await applyOutcome(rt, state, { result: "resumed", sha: held, hold: null, attempt: false, history: { kind: "resume", trigger: "manual" } }, started);
    return held;
  } finally {
    lock.release();
    await writeTextfile(rt);
  }
}
