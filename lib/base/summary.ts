// What a deploy did, per container: for the log, hooks (KONTA_SUMMARY), notifications and --json.
export interface Summary {
  added: string[];
  updated: string[];
  removed: string[];
  started: string[];
  stopped: string[];
  failed: string[];
}

export function emptySummary(): Summary {
  return { added: [], updated: [], removed: [], started: [], stopped: [], failed: [] };
}

/** Each list sorted: projects converge concurrently, and a summary should not depend on who finished first. */
export function sortSummary(s: Summary): Summary {
  for (const list of Object.values(s)) list.sort();
  return s;
}
