// The on-disk layout under one state directory (DESIGN section 1). Everything Konta writes at run
// time lives below it, so tests and non-root users only need `--state-dir`.
import { join } from "node:path";

export const DEFAULT_CONFIG = "/etc/konta/config.yaml";
export const DEFAULT_STATE_DIR = "/var/lib/konta";

export interface StatePaths {
  root: string;
  repo: string;
  releases: string;
  current: string;
  state: string;
  /** every run that did something, see lib/history */
  history: string;
  /** left by `konta webhook` for the run it starts, so that run says what triggered it */
  webhookMark: string;
  lock: string;
  key: string;
  /** the validated config, see loadConfig */
  configCache: string;
  /** loaded Compose projects, see lib/compose/cache.ts */
  composeCache: string;
  /** decrypted SOPS secret files, mounted into containers */
  secrets: string;
  /** the creates of a run that is changing containers (lib/targets/engine/journal.ts) */
  engineJournal: string;
  /** commit statuses a provider did not take yet (lib/report) */
  reportQueue: string;
}

/** Where `konta install` writes the systemd units. */
export const DEFAULT_UNIT_DIR = "/etc/systemd/system";

export function statePaths(root: string): StatePaths {
  return {
    root,
    repo: join(root, "repo"),
    releases: join(root, "releases"),
    current: join(root, "current"),
    state: join(root, "state.json"),
    history: join(root, "history.jsonl"),
    webhookMark: join(root, "webhook-request"),
    lock: join(root, "konta.lock"),
    key: join(root, "key"),
    configCache: join(root, "config.cache.json"),
    composeCache: join(root, "compose.cache.json"),
    secrets: join(root, "secrets"),
    engineJournal: join(root, "engine-journal"),
    reportQueue: join(root, "report-queue.json"),
  };
}

/** `--config` wins, then KONTA_CONFIG, then the system default. */
export function resolveConfigFile(flag: string | undefined): string {
  return flag || process.env.KONTA_CONFIG || DEFAULT_CONFIG;
}

/** `--state-dir` wins, then KONTA_HOME, then the system default. */
export function resolveStateDir(flag: string | undefined): string {
  return flag || process.env.KONTA_HOME || DEFAULT_STATE_DIR;
}
