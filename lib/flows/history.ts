// What started a run, for its history entry: a webhook's mark, a person, or the timer.
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { log } from "../base/log.ts";
import { errorMessage } from "../base/errors.ts";
import type { Trigger } from "../history/index.ts";
import type { Runtime } from "./runtime.ts";

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

/** A webhook marked a push since this run began (the run claimed any older mark as its trigger). */
export function pushedMeanwhile(rt: Runtime): boolean {
  const mark = rt.paths.webhookMark;
  return existsSync(mark) && Date.now() - statSync(mark).mtimeMs < MARK_MAX_AGE_MS;
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
