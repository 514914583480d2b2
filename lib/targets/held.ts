// Projects (stacks) a failed deploy never started: they keep their previous version, and the
// failure's message names each with why it did not move.
import { log } from "../base/log.ts";

export interface Held {
  project: string;
  why: string;
}

/** Held back: `waits` are the failed projects it waits for (x-konta.depends_on); none, the stop after a failure. */
export function held(project: string, waits: string[]): Held {
  const h = { project, why: waits.length ? `waits for ${waits.join(", ")}, which failed` : "not started: the deploy stops at a failure" };
  log.warn(`${project}: held back, keeps its previous version (${h.why})`);
  return h;
}

export function heldNote(list: Held[]): string {
  return list.length ? `\nheld back, on their previous version: ${list.map((h) => `${h.project} (${h.why})`).join(", ")}` : "";
}
