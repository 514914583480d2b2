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
