// <state>/state.json: what is deployed, what was attempted, what failed, whether the operator holds
// a rollback, and what the engine should look like (for drift checks without loading Compose).
// Written atomically; a corrupt file is reported and rebuilt instead of failing every run.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { failpoint } from "../base/failpoint.ts";
import { writeFileAtomic } from "../base/fsutil.ts";
import { log } from "../base/log.ts";
import { redactValue } from "../base/redact.ts";
import type { HistoryKind } from "../history/index.ts";

export interface CommitRecord {
  sha: string;
  message: string;
  author: string;
  date: string;
}

export interface DeployRecord extends CommitRecord {
  deployedAt: string;
  trigger: "sync" | "rollback";
  durationMs: number;
  /** for a rollback: the release it rolled back from */
  replaced?: string;
  /** repository.tag: the tag that named it */
  tag?: string;
  /** repository.verify: who signed it (a principal with its key, or an OpenPGP key) */
  signer?: string;
}

export type AttemptResult = "deployed" | "up-to-date" | "repaired" | "updated" | "failed" | "skipped" | "held" | "rolled-back" | "waiting";

export interface Attempt {
  sha?: string;
  at: string;
  result: AttemptResult;
  durationMs: number;
  /** the run's peak resident memory (ru_maxrss), in bytes */
  peakRssBytes?: number;
  error?: string;
}

export interface ProjectExpectation {
  /** what each managed service should look like in the engine */
  services: Record<string, ServiceTarget>;
  /** services in the Compose file that are not konta.managed (left alone) */
  ignored?: string[];
  /** digest of host-side inputs that are not in Git (the project's env file) */
  hostInputs: string;
  /** x-konta.secrets: name -> reference, and a keyed digest of the values deployed (ManagedSecrets.digest) */
  secrets?: { refs: Record<string, string>; digest: string };
}

/** What one managed service should be, reduced to what the plan compares (and state remembers). */
export interface ServiceTarget {
  hash: string;
  image: string;
  /** local image ID (undefined when the image is not present yet); on a swarm the registry digest the service is pinned to */
  imageId?: string;
  replicas: number;
  stopped: boolean;
  /**
   * A one-shot job (a migration): a container of it that exited 0 has finished and is not started
   * again. Services are jobs only when known to be (see isJob); any other managed container that is
   * not running is drift, whatever its exit code: an engine restart or `docker stop` ends a web
   * server with exit 0 too.
   */
  job: boolean;
  containerName?: string;
  /** konta.image-updates: follow new images pushed under the same tag */
  imageUpdates?: true;
  /** pull_policy daily, weekly, every_<duration>: the same, that many seconds apart */
  pullEvery?: number;
  /** host ports it publishes, "ip:port/protocol" (another instance may not take them) */
  hostPorts?: string[];
  /** swarm target: digest of the service's spec as the engine holds it after the deploy; another one is a change by hand */
  engineSpec?: string;
}

/**
 * The image one service ran while a release was live: its reference, the engine's image ID (on a
 * swarm the registry digest the service was pinned to) and, when known, `repo@sha256:...` to pull
 * it again once it is gone from the host.
 */
export interface RanImage {
  image: string;
  id: string;
  digest?: string;
}

/** project -> service -> the image it ran */
export type ReleaseImages = Record<string, Record<string, RanImage>>;

export interface State {
  version: 1;
  current?: DeployRecord;
  history: DeployRecord[];
  lastAttempt?: Attempt;
  lastRemoteHead?: string;
  failed?: { sha: string; at: string; error: string };
  hold?: { sha: string; since: string; until: string; ignore: string[] };
  expected: Record<string, ProjectExpectation>;
  /** the release `expected` was computed from; when it is not the live one, the next run recomputes it */
  expectedAt?: string;
  /** registry checks of services with konta.image-updates (deploy.image_update_interval apart) */
  imageUpdates?: ImageUpdates;
  /** per release that went live, what its services ran: `konta rollback` brings back these images, not what the tags point at now */
  ran?: Record<string, ReleaseImages>;
  /** runs of each kind since state began (the history keeps only the newest): the metrics' counters */
  totals?: Partial<Record<HistoryKind, number>>;
  /** repository.verify: who signed each kept release that went live (a rollback goes only to one of these) */
  verified?: Record<string, string>;
  /** when the secret managers were last asked for the live release's values (secrets.refresh_interval) */
  secretsCheckedAt?: string;
  /** sync.windows: a commit checked and planned outside the deploy windows, deployed by the first run inside one */
  waiting?: Waiting;
}

export interface Waiting {
  sha: string;
  /** when it was first found waiting */
  since: string;
  /** when the next window opens; absent when none opens within a week */
  opensAt?: string;
  tag?: string;
}

export interface ImageUpdates {
  checkedAt?: string;
  /** the last update that was deployed: when, and which image references */
  updated?: { at: string; images: string[] };
  /** image reference -> a digest whose deploy failed and was rolled back; not tried again */
  failed?: Record<string, string>;
  /** image reference -> when the registry was last asked for it on its pull_policy's schedule */
  pulled?: Record<string, string>;
}

const HISTORY = 50;

/**
 * An idle tick checks the registries of followed tags at most every `intervalSeconds`. A last check
 * in the future means the clock went back: due now, or no check would come until the clock caught
 * up (found by the chaos run).
 */
export function imageCheckDue(u: ImageUpdates | undefined, intervalSeconds: number, now = Date.now()): boolean {
  if (!u?.checkedAt) return true;
  const since = now - Date.parse(u.checkedAt);
  return since < 0 || since >= intervalSeconds * 1000;
}

/**
 * The image references an idle tick should ask the registry about: those konta.image-updates
 * follows once the interval has passed (`followed`: that check was due), and each one with a
 * periodic pull_policy once its own has (`periodic`).
 */
export function imagesDue(expected: Record<string, ProjectExpectation>, u: ImageUpdates | undefined, intervalSeconds: number, now = Date.now()): { refs: Set<string>; followed: boolean; periodic: string[] } {
  const services = Object.values(expected).flatMap((p) => Object.values(p.services));
  const followed = services.some((t) => t.imageUpdates) && imageCheckDue(u, intervalSeconds, now);
  const periodic = new Set(services.filter((t) => t.pullEvery !== undefined && imageCheckDue({ checkedAt: u?.pulled?.[t.image] }, t.pullEvery, now)).map((t) => t.image));
  const refs = new Set([...(followed ? services.filter((t) => t.imageUpdates).map((t) => t.image) : []), ...periodic]);
  return { refs, followed, periodic: [...periodic] };
}

export function emptyState(): State {
  return { version: 1, history: [], expected: {} };
}

function isState(v: unknown): v is State {
  const s = v as State;
  return !!s && s.version === 1 && Array.isArray(s.history) && typeof s.expected === "object" && s.expected !== null;
}

/** Another instance's state.json, read and never repaired (its own runs do that); undefined when it does not parse. */
export function peekState(path: string): State | undefined {
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return isState(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Read state.json; a corrupt one is moved aside (state.json.corrupt-<time>) and an empty state returned. */
export function readState(path: string): { state: State; recovered: boolean } {
  if (!existsSync(path)) return { state: emptyState(), recovered: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    parsed = undefined;
    log.warn(`state: ${path} is unreadable (${(err as Error).message})`);
  }
  if (isState(parsed)) return { state: parsed, recovered: false };
  const original = originalState(parsed);
  if (original) {
    const aside = `${path}.konta-go-${Date.now()}`;
    renameSync(path, aside);
    log.info(`state: imported the original Konta's state (last deployed commit ${original.sha.slice(0, 12)}); kept it as ${aside}`);
    const state = emptyState();
    recordDeploy(state, original);
    return { state, recovered: true };
  }
  const aside = `${path}.corrupt-${Date.now()}`;
  renameSync(path, aside);
  log.warn(`state: ${path} was corrupt; kept it as ${aside} and rebuilt state from the live release`);
  return { state: emptyState(), recovered: true };
}

/** The original Konta's state.json ({"last_commit": ..., "last_deploy_time": ...}) as a deploy record. */
function originalState(v: unknown): DeployRecord | undefined {
  const o = v as { last_commit?: unknown; last_deploy_time?: unknown } | undefined;
  if (!o || typeof o.last_commit !== "string" || !/^[0-9a-f]{40}$/.test(o.last_commit)) return undefined;
  const at = typeof o.last_deploy_time === "string" && !Number.isNaN(Date.parse(o.last_deploy_time)) ? new Date(o.last_deploy_time).toISOString() : new Date().toISOString();
  return { sha: o.last_commit, message: "", author: "", date: "", deployedAt: at, trigger: "sync", durationMs: 0 };
}

export function writeState(path: string, state: State): void {
  const trimmed: State = { ...state, history: state.history.slice(0, HISTORY) };
  writeFileAtomic(path, `${JSON.stringify(redactValue(trimmed), null, 2)}\n`, 0o600, () => failpoint("state-write"));
}

export function recordDeploy(state: State, record: DeployRecord): void {
  state.current = record;
  state.history = [record, ...state.history.filter((h) => h.sha !== record.sha || h.deployedAt !== record.deployedAt)];
}

/** The images `expected` names, by project and service (those not present when it was made have none). */
export function imagesOf(expected: Record<string, ProjectExpectation>): ReleaseImages {
  const out: ReleaseImages = {};
  for (const [project, exp] of Object.entries(expected)) {
    for (const [service, t] of Object.entries(exp.services)) if (t.imageId) (out[project] ??= {})[service] = { image: t.image, id: t.imageId };
  }
  return out;
}

/**
 * What release `sha` runs now (its images as the target reports them after a deploy, a repair, an
 * image update or a rollback). Only releases still kept are remembered, so this stays as small as
 * the release store.
 */
export function recordRan(state: State, sha: string, images: ReleaseImages, kept: (sha: string) => boolean): void {
  const ran: Record<string, ReleaseImages> = {};
  for (const [s, r] of Object.entries(state.ran ?? {})) if (s !== sha && kept(s)) ran[s] = r;
  ran[sha] = images;
  state.ran = ran;
}

/** What one `konta sync` does, from the branch head and what state remembers. */
export type SyncDecision =
  /** nothing new: check the live release for drift (and moved image tags) */
  | { kind: "idle"; result: "up-to-date" | "held"; liftHold: boolean }
  /** the target failed before: not retried until a new commit or --now */
  | { kind: "skip"; sha: string; failed: NonNullable<State["failed"]>; liftHold: boolean }
  | { kind: "deploy"; sha: string; liftHold: boolean };

/**
 * A rollback hold keeps the held release while the branch head is one it was told to ignore; any
 * other head lifts it. Then: the live release is idle, a failed one is skipped unless `now`.
 */
export function decideSync(state: Pick<State, "hold" | "failed">, head: string, live: string | undefined, now: boolean): SyncDecision {
  const hold = state.hold;
  const held = !!hold && hold.ignore.includes(head);
  const liftHold = !!hold && !held;
  const target = held ? (hold as NonNullable<State["hold"]>).sha : head;
  if (target === live) return { kind: "idle", result: held ? "held" : "up-to-date", liftHold };
  if (state.failed?.sha === target && !now) return { kind: "skip", sha: target, failed: state.failed, liftHold };
  return { kind: "deploy", sha: target, liftHold };
}

/**
 * The release a plain `konta rollback` goes back to: the newest deploy before the live one that
 * no rollback stepped away from (so rolling back twice goes further back, not forth again).
 */
export function rollbackTarget(state: State, available: (sha: string) => boolean): string | undefined {
  const live = state.current?.sha;
  const abandoned = new Set(state.history.flatMap((h) => (h.replaced ? [h.replaced] : [])));
  return state.history.find((h) => h.sha !== live && !abandoned.has(h.sha) && available(h.sha))?.sha;
}
