// What a run leaves in the deploy history (lib/history) and the counters the metrics export:
// which trigger started it, and the entry a report or a rollback becomes.
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { log } from "../base/log.ts";
import { peakRssBytes } from "../base/host.ts";
import type { Summary } from "../base/summary.ts";
import { errorMessage } from "../base/errors.ts";
import { appendHistory, type HistoryEntry, type HistoryKind, type ServiceAction, type Trigger } from "../history/index.ts";
import { type State, writeState } from "../state/index.ts";
import type { Runtime } from "./runtime.ts";
import { COMMIT, VERSION } from "../base/version.ts";

// a webhook request marks the run it starts; one older than this started nothing (that run was
// already under way) and is not claimed by a later timer run
const MARK_MAX_AGE_MS = 5 * 60_000;

/** `konta webhook` leaves a mark for the run it is about to start. */
export function markWebhookRequest(rt: Runtime): void {
  try {
    writeFileSync(rt.paths.webhookMark, `${new Date().toISOString()}\n`, { mode: 0o600 });
  } catch (err) {
    log.debug(`webhook: could not mark the request (${errorMessage(err)})`);
  }
}

/** What started this `konta sync`: a webhook's mark, a person (--now, or a terminal), or the timer. */
export function syncTrigger(rt: Runtime, now: boolean | undefined): Trigger {
  const mark = rt.paths.webhookMark;
  if (existsSync(mark)) {
    const fresh = Date.now() - statSync(mark).mtimeMs < MARK_MAX_AGE_MS;
    rmSync(mark, { force: true });
    if (fresh) return "webhook";
  }
  // systemd gives every unit it starts an invocation ID; a shell has none
  return !now && process.env.INVOCATION_ID ? "timer" : "manual";
}

export function actionsOf(s: Summary | undefined): ServiceAction[] {
  if (!s) return [];
  const kinds = ["added", "updated", "removed", "started", "stopped", "failed"] as const;
  return kinds.flatMap((action) => s[action].map((service) => ({ service, action })));
}

/**
 * Count the run in state.totals (monotonic, for the metrics' counters), write state, and append
 * the entry. The deploy has happened whatever becomes of its record: a history that cannot be
 * written (a full disk) is logged, not a failed run.
 */
export function recordRun(rt: Runtime, state: State, entry: HistoryEntry): void {
  state.totals = { ...state.totals, [entry.kind]: (state.totals?.[entry.kind] ?? 0) + 1 };
  try {
    writeState(rt.paths.state, state);
    appendHistory(rt.paths.history, { ...entry, peakRssBytes: peakRssBytes(), konta: `${VERSION} (${COMMIT})` });
  } catch (err) {
    log.warn(`history: could not record this run (${errorMessage(err)})`);
  }
}

/** The kind of entry a sync result is; undefined for a run that changed nothing. */
export function kindOf(result: string): HistoryKind | undefined {
  const kinds: Record<string, HistoryKind> = { deployed: "deploy", repaired: "repair", updated: "image-update", failed: "failure" };
  return kinds[result];
}
