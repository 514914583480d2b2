// Configs written by the original Konta (Go): its `konta bootstrap` template, README and user guide
// examples must load unchanged. Its keys are mapped onto today's where they mean the same thing and
// otherwise dropped with one warning each; anything else unknown stays an error (a typo is a typo).

type Raw = Record<string, any>;

/** Keys of the original that Konta does not use, and why (shown in the warning). */
const IGNORED: Record<string, string> = {
  logging: "logs go to the journal; use --verbose / --quiet",
  release_channel: "updates come from `konta self-update`",
  konta_updates: "updates come from `konta self-update`",
  "deploy.dry_run": "use `konta plan` or `konta sync --dry-run`",
  "deploy.project_name_hash_mode": "Compose project names are always the app folder's name",
  "deploy.rolling_health_retries": "the health gate waits for healthy or unhealthy within deploy.health_timeout",
  "deploy.self_heal": "drift is always repaired by the next tick",
  "deploy.github_deployments": "use notify.url for deploy notifications",
  "deploy.atomic": "every deploy is atomic: a failed one is rolled back",
  "hooks.started": "there is no hook when a run starts; use hooks/pre.sh",
};

export interface LegacyResult {
  raw: Raw;
  warnings: string[];
}

function drop(raw: Raw, path: string, warnings: string[], why: string): void {
  const parts = path.split(".");
  const parent = parts.length === 1 ? raw : raw[parts[0] as string];
  const key = parts.at(-1) as string;
  if (!parent || typeof parent !== "object" || !(key in parent)) return;
  delete parent[key];
  warnings.push(`setting of the original Konta, ignored: ${path} (${why})`);
}

/** Map the original's keys onto today's (a copy; the input is not changed). */
export function adoptOriginalConfig(input: unknown): LegacyResult {
  if (!input || typeof input !== "object" || Array.isArray(input)) return { raw: input as Raw, warnings: [] };
  const raw: Raw = structuredClone(input);
  const warnings: string[] = [];
  // the original writes `version: v1`
  if (raw.version === "v1" || raw.version === "1") raw.version = 1;

  const d = raw.deploy;
  if (d && typeof d === "object") {
    if ("remove_orphans" in d) {
      if (!("prune_removed_apps" in d)) d.prune_removed_apps = d.remove_orphans;
      delete d.remove_orphans;
    }
    // the original's parallel is a switch; today's is how many at once
    if (typeof d.parallel === "boolean") d.parallel = d.parallel ? 4 : 1;
    if ("rolling_health_timeout_second" in d) {
      if (!("health_timeout" in d)) d.health_timeout = d.rolling_health_timeout_second;
      delete d.rolling_health_timeout_second;
    }
  }
  // hooks.pre: pre.sh etc. name the file in the repository's hooks/ folder
  const h = raw.hooks;
  if (h && typeof h === "object") {
    for (const event of ["pre", "success", "failure", "post_update"]) {
      if (typeof h[event] === "string") {
        h.files = { ...(h.files ?? {}), [event]: h[event] };
        delete h[event];
      }
    }
  }
  for (const [path, why] of Object.entries(IGNORED)) drop(raw, path, warnings, why);
  return { raw, warnings };
}
