// The shape of a loaded config.yaml (DESIGN section 2), defaults applied. Types only, so that
// config.ts, config-parse.ts and token.ts share them without importing one another.

export interface RepositoryConfig {
  url: string;
  branch: string;
  path: string;
  interval: number;
  token?: string;
  token_file?: string;
  /** seconds for one HTTP request to the Git server */
  timeout: number;
  /** attempts after the first one for network faults and 5xx */
  retries: number;
  /** HTTP Basic user sent with the token; default x-access-token (GitHub) */
  username: string;
  /** http:// to a host other than loopback (the token would travel in clear text) */
  allow_insecure_http?: boolean;
  /** SSH remotes: the deploy key (0600, ours) and the only host keys trusted; default beside the config */
  ssh_key_file: string;
  known_hosts_file: string;
  /** instead of a branch: the newest tag in this semver range ("\>=1.0.0", "~2.3") or matching this glob ("v*") */
  tag?: string;
  /** deploy only what the server's keys signed (unset: no signature is checked) */
  verify?: VerifyConfig;
}

export interface VerifyConfig {
  /** git's allowed-signers file: SSH signatures */
  ssh_allowed_signers?: string;
  /** an OpenPGP keyring: OpenPGP signatures */
  gpg_keyring?: string;
  /** head: the commit deployed is signed; tag: the annotated tag that names it is */
  mode: "head" | "tag";
}

export interface DeployConfig {
  health_timeout: number;
  keep_releases: number;
  prune_removed_apps: boolean;
  /** seconds a container without healthcheck must stay up, unrestarted, to pass the health gate */
  min_uptime: number;
  /** services created or recreated at once within a project */
  parallel: number;
  /** Compose profiles to enable (default none) */
  profiles: string[];
  /** process environment variables Compose files may interpolate */
  env_passthrough: string[];
  allow_privileged: boolean;
  /** when set, bind-mount sources outside these roots (and outside the release) are refused */
  allowed_bind_roots?: string[];
  /** with allow_privileged false: capabilities cap_add may name beyond Docker's default set */
  allowed_capabilities: string[];
  /** create a missing external network (labelled as Konta's) instead of refusing the deploy */
  auto_create_external_networks: boolean;
  /** seconds between registry checks of services labelled konta.image-updates */
  image_update_interval: number;
  /** engine: the local Docker engine; swarm: every app folder a stack on the Swarm this node manages */
  target: "engine" | "swarm";
}

export interface HooksConfig {
  timeout: number;
  /** false: the repository's hooks are never run */
  enabled: boolean;
  /** host paths hooks may write besides the state dir; `konta install` puts them in ReadWritePaths= */
  writable_paths: string[];
  /** other file names in hooks/ for an event (the original Konta's hooks.pre: pre.sh, ...) */
  files?: Partial<Record<"pre" | "success" | "failure" | "post_update", string>>;
}

export interface ReportConfig {
  provider: "github" | "gitlab" | "gitea";
  /** the API's base: https://api.github.com, https://gitlab.com/api/v4, https://<host>/api/v1 */
  url: string;
  /** plain, or enc:v1: (`konta token set --report`) */
  token?: string;
  /** seconds for one request: a provider that does not answer never holds a deploy up */
  timeout: number;
}

/** When a new commit may be deployed (unset: at any time) */
export interface SyncConfig {
  /** deploy windows ("Mon-Fri 08:00-16:00", lib/base/windows.ts), checked when the config is read; empty: always open */
  windows: string[];
  /** the windows' time zone; unset: the server's (/etc/localtime) */
  timezone?: string;
  /** drift repairs and image updates outside the windows too (default false: they restart containers as a deploy does) */
  repair_outside_windows: boolean;
}

export interface SecretsConfig {
  age_key_file: string;
  /** the secret managers x-konta.secrets references name, by name */
  providers: Record<string, ProviderConfig>;
  /** seconds between idle ticks that fetch the live release's references again (unset: never; a deploy and `konta sync --now` always do) */
  refresh_interval?: number;
}

/** A secret manager: OpenBao/Vault KV v2 over HTTP, or a command (the reference on stdin, the value on stdout). */
export interface ProviderConfig {
  type?: "bao" | "vault";
  url?: string;
  /** plain, enc:v1: (`konta token set --provider NAME`), or token_file (0600) */
  token?: string;
  token_file?: string;
  approle?: { role_id: string; secret_id?: string; secret_id_file?: string; mount?: string };
  namespace?: string;
  ca_file?: string;
  command?: string[];
  /** the command prints JSON: the value is this field of it */
  json_field?: string;
  /** seconds for one fetch (default 10) */
  timeout: number;
}

export interface NotifyConfig {
  url: string;
  format: "json" | "slack" | "discord" | "ntfy";
  timeout: number;
}

export interface KontaConfig {
  /** absolute path of the file this was read from */
  file: string;
  version: 1;
  repository: RepositoryConfig;
  deploy: DeployConfig;
  hooks: HooksConfig;
  sync: SyncConfig;
  notify?: NotifyConfig;
  /** `konta webhook`: the shared secret (plain, or enc:v1: like the token) */
  webhook?: { secret: string };
  /** node_exporter's textfile collector folder: konta.prom is written there after every run */
  metrics?: { textfile_dir?: string };
  /** the status page's Basic-auth password (plain, or enc:v1:); unset: GET routes answer 404. public_url: where people see it (the commit statuses' link) */
  status?: { password?: string; public_url?: string };
  /** each deploy's result posted on its commit (a commit status); unset: nothing is posted */
  report?: ReportConfig;
  /** SOPS-encrypted files in the repository are opened with the age identity in age_key_file; x-konta.secrets are fetched from `providers` */
  secrets: SecretsConfig;
  /** what the file says that Konta does not use (keys of the original Konta, a plain-text token) */
  warnings: string[];
}
