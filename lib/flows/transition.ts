// The one place a run's end is recorded. Every path (a deploy, a drift repair, an image update, a
// failure, a rollback, a resume, an idle tick) returns an Outcome: which release went live, what
// state remembers, the history entry, the hook to run, the notification. applyOutcome applies it
// under the run's lock, in the order the crash guarantees need: `current` switched, state.json
// written once, the history entry appended once, then the hook, the release prune and the
// notification (whatever they do, the run's record stands).
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../base/errors.ts";
import { failpoint } from "../base/failpoint.ts";
import { peakRssBytes } from "../base/host.ts";
import { log } from "../base/log.ts";
import { redact } from "../base/redact.ts";
import type { Summary } from "../base/summary.ts";
import { COMMIT, VERSION } from "../base/version.ts";
import { appendHistory, type HistoryEntry, type HistoryKind, type ServiceAction, type Trigger } from "../history/index.ts";
import { type HookContext, type HookEvent, hookPath, runHook } from "../hooks/index.ts";
import { notify, type NotifyEvent } from "../notify/index.ts";
import { type AttemptResult, type CommitRecord, type DeployRecord, type ProjectExpectation, type ReleaseImages, recordDeploy, recordRan, type State, writeState } from "../state/index.ts";
import type { Runtime } from "./runtime.ts";
import type { CommitStatus } from "../report/index.ts";

/** How a run ended, as data; nothing of it has happened yet. */
export interface Outcome {
  /** state.lastAttempt's result; with `history`, the entry's too */
  result: AttemptResult | "resumed";
  sha?: string;
  /** redacted before it is kept anywhere */
  error?: string;
  /** a release goes live: `current` switched to it and recorded (with the tag that named it and who signed it) */
  live?: { sha: string; info: CommitRecord; trigger: DeployRecord["trigger"]; replaced?: string; tag?: string; signer?: string };
  /** what runs from now on: drift checks and rollbacks go by it */
  expected?: { sha: string; services: Record<string, ProjectExpectation>; ran: ReleaseImages };
  /** state fields set, or cleared with null */
  failed?: State["failed"] | null;
  hold?: State["hold"] | null;
  waiting?: State["waiting"] | null;
  /** when the secret managers were asked for the live release's values */
  secretsCheckedAt?: string;
  /** changes to state.imageUpdates (a field set to undefined is cleared) */
  imageUpdates?: Partial<NonNullable<State["imageUpdates"]>>;
  /** the branch head the run saw (a rollback's hold ignores it) */
  lastRemoteHead?: string;
  /** whether state.lastAttempt is written (an idle tick writes it only when it changes) */
  attempt?: boolean;
  /** the history entry, for a run that did something */
  history?: { kind: HistoryKind; trigger: Trigger; previous?: string; summary?: Summary; rolledBack?: boolean; images?: string[]; info?: CommitRecord; error?: string; outsideWindow?: boolean; opensAt?: string };
  /** a hook for commit `sha` to run once the state is written, from release `from` (default `sha`) */
  hook?: { event: Extract<HookEvent, "success" | "failure">; sha: string; from?: string; previous?: string; projects: string[]; summary: Summary; error?: string; images?: string[] };
  /** after the hook: the releases beyond keep_releases and the files no container uses removed */
  prune?: () => Promise<void>;
  notify?: NotifyEvent;
  /** commit statuses to post (report:); with none, those an earlier run could not post still go */
  statuses?: CommitStatus[];
}

export function actionsOf(s: Summary | undefined): ServiceAction[] {
  if (!s) return [];
  const kinds = ["added", "updated", "removed", "started", "stopped", "failed"] as const;
  return kinds.flatMap((action) => s[action].map((service) => ({ service, action })));
}

/** Apply `o` to `state` (read under the same lock) and carry out what follows from it. `started`: when the run began. */
export async function applyOutcome(rt: Runtime, state: State, o: Outcome, started: number): Promise<void> {
  const durationMs = () => Date.now() - started;
  if (o.live) {
    failpoint("before-switch");
    if (rt.store.current() !== o.live.sha) rt.store.switchTo(o.live.sha);
    const { tag, signer, replaced } = o.live;
    recordDeploy(state, { ...o.live.info, sha: o.live.sha, deployedAt: new Date().toISOString(), trigger: o.live.trigger, durationMs: durationMs(), ...(replaced ? { replaced } : {}), ...(tag ? { tag } : {}), ...(signer ? { signer } : {}) });
    // what was verified, for the kept releases only: a rollback goes only to one of these
    if (signer) state.verified = Object.fromEntries([...Object.entries(state.verified ?? {}).filter(([s]) => rt.store.has(s)), [o.live.sha, signer]]);
  }
  if (o.expected) {
    state.expected = o.expected.services;
    state.expectedAt = o.expected.sha;
    recordRan(state, o.expected.sha, o.expected.ran, (s) => rt.store.has(s));
  }
  if (o.failed !== undefined) state.failed = o.failed ?? undefined;
  if (o.hold !== undefined) state.hold = o.hold ?? undefined;
  if (o.waiting !== undefined) state.waiting = o.waiting ?? undefined;
  if (o.secretsCheckedAt) state.secretsCheckedAt = o.secretsCheckedAt;
  if (o.imageUpdates !== undefined) state.imageUpdates = { ...state.imageUpdates, ...o.imageUpdates };
  const headMoved = o.lastRemoteHead !== undefined && o.lastRemoteHead !== state.lastRemoteHead;
  if (headMoved) state.lastRemoteHead = o.lastRemoteHead;
  if (o.attempt !== false && o.result !== "resumed") {
    state.lastAttempt = { sha: o.sha, at: new Date().toISOString(), result: o.result, durationMs: durationMs(), peakRssBytes: peakRssBytes(), ...(o.error ? { error: redact(o.error) } : {}) };
  }
  const entry = o.history && historyEntry(o, { ...o.history, info: o.history.info ?? o.live?.info ?? (await commitOf(rt, state, o.sha)) }, started);
  if (entry) state.totals = { ...state.totals, [entry.kind]: (state.totals?.[entry.kind] ?? 0) + 1 };
  if (o.live || o.expected || o.failed !== undefined || o.hold !== undefined || o.waiting !== undefined || o.secretsCheckedAt || o.imageUpdates !== undefined || headMoved || o.attempt !== false || entry) {
    writeState(rt.paths.state, state);
  }
  if (entry) {
    // the deploy has happened whatever becomes of its record: a history that cannot be written (a full disk) is logged
    try {
      appendHistory(rt.paths.history, entry);
    } catch (err) {
      log.warn(`history: could not record this run (${errorMessage(err)})`);
    }
  }
  await postStatuses(rt, o.statuses ?? []);
  if (o.hook) {
    const code = await hook(rt, o.hook).catch((err) => log.error(`hooks/${o.hook?.event}.sh: ${errorMessage(err)}`));
    if (code && o.hook.event === "success") log.warn(`hooks/success.sh exited with ${code} (the deploy itself succeeded)`);
  }
  await o.prune?.();
  if (o.notify) await notify(rt.config.notify, o.notify);
}

/** Post commit statuses (and those waiting from earlier runs) when report: is configured; never in a deploy's way. */
export async function postStatuses(rt: Runtime, statuses: CommitStatus[]): Promise<void> {
  if (!rt.config.report || (!statuses.length && !existsSync(rt.paths.reportQueue))) return;
  const reporter = await rt.reporter().catch((err) => log.warn(`report: ${errorMessage(err)}`));
  if (reporter) await (await import("../report/index.ts")).report(reporter, rt.paths.reportQueue, statuses);
}

/** The subject and author of commit `sha` for its history entry: the live one's from state, another from the Git cache. */
async function commitOf(rt: Runtime, state: State, sha: string | undefined): Promise<CommitRecord | undefined> {
  if (!sha) return undefined;
  if (state.current?.sha === sha) return state.current;
  return (await import("../git/index.ts")).commitInfo(rt.paths.repo, sha).catch(() => undefined);
}

function historyEntry(o: Outcome, h: NonNullable<Outcome["history"]>, started: number): HistoryEntry {
  const info = h.info;
  return {
    at: new Date(started).toISOString(),
    kind: h.kind,
    trigger: h.trigger,
    result: o.result,
    ...(o.sha ? { sha: o.sha } : {}),
    ...(info?.message ? { subject: info.message.split("\n")[0] } : {}),
    ...(info?.author ? { author: info.author } : {}),
    ...(h.previous && h.previous !== o.sha ? { previous: h.previous } : {}),
    actions: actionsOf(h.summary),
    durationMs: Date.now() - started,
    ...((h.error ?? o.error) ? { error: h.error ?? o.error } : {}),
    ...(h.rolledBack ? { rolledBack: true } : {}),
    ...(h.images?.length ? { images: h.images } : {}),
    ...(o.live?.tag ? { tag: o.live.tag } : {}),
    ...(o.live?.signer ? { signer: o.live.signer } : {}),
    ...(h.outsideWindow ? { outsideWindow: true as const } : {}),
    ...(h.opensAt ? { opensAt: h.opensAt } : {}),
    peakRssBytes: peakRssBytes(),
    konta: `${VERSION} (${COMMIT})`,
  };
}

/** Run hook `event` of release `from` (default `ctx.commit`) if it has one; its exit code. */
export async function releaseHook(rt: Runtime, event: HookEvent, ctx: Omit<HookContext, "releaseDir">, before?: () => Partial<HookContext>, from = ctx.commit): Promise<number | undefined> {
  const releaseDir = rt.store.root(from);
  if (!rt.store.has(from) || !hookPath(releaseDir, event, rt.config.hooks.files?.[event])) return undefined;
  return (await runHook(event, { ...ctx, ...before?.(), releaseDir }, rt.config.hooks)).exitCode;
}

/** success.sh or failure.sh, with a JSON summary file and the original Konta's `$1`. */
function hook(rt: Runtime, h: NonNullable<Outcome["hook"]>): Promise<number | undefined> {
  return releaseHook(rt, h.event, { commit: h.sha, previous: h.previous, projects: h.projects, error: h.error }, () => {
    const summaryFile = join(rt.runDir(), "summary.json");
    const doc = { commit: h.sha, previous: h.previous ?? null, projects: h.projects, ...h.summary, ...(h.images?.length ? { images: h.images } : {}), error: h.error !== undefined ? redact(h.error) : null };
    writeFileSync(summaryFile, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    return { summaryFile, args: h.error !== undefined ? [redact(h.error)] : [originalResult(h.summary)] };
  }, h.from);
}

/** The original Konta's `$1` for success.sh: the projects each kind of change touched. */
function originalResult(s: Summary): string {
  const projects = (list: string[]) => [...new Set(list.map((x) => x.split("/")[0] as string))];
  return JSON.stringify({ updated: projects(s.updated), added: projects(s.added), removed: projects(s.removed), started: projects(s.started) });
}
