// What a load of Compose projects is given: the release, the host-side inputs it may read, the
// policy, the cache and the SOPS keyring. Types only (every loader module uses them).
import type { Lookup } from "./interpolate.ts";
import type { SopsKeyring } from "./keyring.ts";
import type { ManagedSecrets } from "./managed.ts";
import type { HostPolicy } from "./policy.ts";

export interface LoadOptions {
  /** the release (checkout root): relative paths may not leave it */
  repoRoot: string;
  /** folder with host-side `<project>.env` files (`<config dir>/env`); optional */
  hostEnvDir?: string;
  /** process environment variables Compose files may use */
  passthrough?: string[];
  profiles?: string[];
  policy?: HostPolicy;
  /** keep loaded projects between runs (cache.ts) */
  cache?: ProjectCacheOptions;
  /** process environment (tests inject one) */
  processEnv?: Record<string, string | undefined>;
  /** opens SOPS-encrypted env and secret files (secrets.age_key_file); without it they are refused */
  sops?: SopsKeyring;
  /** values of x-konta.secrets from the secret managers (secrets.providers); without it they are refused */
  managed?: ManagedSecrets;
  /**
   * `konta check`: a value for a variable the project requires and nothing here sets (the server
   * would: its env file, passed-through variables), so that the rest of the project is checked
   */
  standIn?: (name: string) => string | undefined;
}

export interface ProjectCacheOptions {
  /** <state>/compose.cache.json */
  file: string;
  /** the Konta build: another build may load differently */
  build: string;
}

/** What the normaliser of one project knows besides its merged Compose files. */
export interface NormalizeContext {
  project: string;
  /** project folder inside the release */
  dir: string;
  repoRoot: string;
  env: Lookup;
  /** see LoadOptions.standIn */
  standIn?: (name: string) => string | undefined;
  policy: HostPolicy;
  warn(message: string): void;
  sops?: SopsKeyring;
}
