// What every command needs, built once from the global flags: the config, the state paths, the
// release store, and (lazily, because `konta version` or `konta releases` need no engine) Docker.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseDotenv } from "../compose/dotenv.ts";
import { errorMessage, InputError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import type { KontaConfig } from "../config/types.ts";
import { loadConfig } from "../config/index.ts";
import { DockerClient } from "../docker/client.ts";
import type { GitSource } from "../git/remote.ts";
import { parseSshUrl } from "../git/url.ts";
import { ensureDir } from "../base/fsutil.ts";
import { type StatePaths, statePaths } from "../base/paths.ts";
import { type Family, type InstanceRef, resolveInstance } from "../base/instances.ts";
import { ReleaseStore } from "../releases/index.ts";
import { resolveReportToken, resolveToken } from "../config/token.ts";
import { hostname } from "node:os";
import type { LoadOptions } from "../compose/index.ts";
import { hostInputs } from "../compose/host-inputs.ts";
import { SopsKeyring } from "../compose/keyring.ts";
import { ManagedSecrets } from "../compose/managed.ts";
import { type DeployOptions, type ReleaseRef, type Target, targetOf } from "../targets/index.ts";
import { COMMIT, VERSION } from "../base/version.ts";

// What the caches of validated config and loaded projects are keyed by. A build from source may
// change a schema or the loader without changing its version: no caches then.
const BUILD = COMMIT === "dev" ? undefined : `${VERSION} ${COMMIT}`;

export interface RuntimeFlags {
  config?: string;
  stateDir?: string;
  /** a named instance (KONTA_INSTANCE): its config and state dir beside the default one's */
  instance?: string;
}

export class Runtime {
  readonly paths: StatePaths;
  readonly store: ReleaseStore;
  /**
   * Which Konta instance this is, as a label on what it creates: derived from what it deploys
   * (repository, branch, path), so it survives a lost state dir, and two instances on one engine
   * (staging and prod configs, two repositories) never prune each other's projects.
   */
  readonly instance: string;
  /** SOPS data keys unlocked in this run, shared by every load of it (the new and the live release) */
  readonly keyring: SopsKeyring;
  /** values fetched from the secret managers in this run, shared the same way: one request per secret a run needs */
  readonly managed: ManagedSecrets;
  private dockerClient?: Promise<DockerClient>;
  private targetPort?: Target;
  private passthroughEnv?: Record<string, string | undefined>;

  constructor(
    readonly config: KontaConfig,
    stateDir: string,
    /** which instance this is, and where the others are (a bare runtime: the default, alone) */
    readonly ref: InstanceRef = { config: config.file, stateDir },
    readonly family: Family = { configDir: dirname(config.file), stateRoot: stateDir },
  ) {
    this.paths = statePaths(stateDir);
    this.store = new ReleaseStore(this.paths, config.repository.path);
    const r = config.repository;
    this.instance = new Bun.CryptoHasher("sha256").update(`${repositoryIdentity(r.url)}\n${r.branch}\n${r.path}`).digest("hex").slice(0, 12);
    this.keyring = new SopsKeyring(config.secrets.age_key_file, this.paths.secrets);
    this.managed = new ManagedSecrets(
      Object.keys(config.secrets.providers),
      async (refs) => (await import("../secrets/index.ts")).fetchSecrets(refs, config, this.paths.key, this.managed.values),
      () => (existsSync(this.paths.key) ? readFileSync(this.paths.key) : ""),
    );
  }

  static load(flags: RuntimeFlags): Promise<Runtime> {
    const { ref, family } = resolveInstance(flags);
    return Runtime.of(ref, family);
  }

  /** The runtime of one instance of a family (the webhook answers for all of them). */
  static async of(ref: InstanceRef, family: Family): Promise<Runtime> {
    const paths = statePaths(ref.stateDir);
    const cache = BUILD ? { file: paths.configCache, build: BUILD, keyFile: paths.key } : undefined;
    if (ref.name && !existsSync(ref.config)) {
      throw new InputError(`there is no instance "${ref.name}" (no ${ref.config})`, { hint: `set it up with: konta install --instance ${ref.name} --repo <url>` });
    }
    const config = await loadConfig(ref.config, cache);
    return new Runtime(config, ref.stateDir, ref, family);
  }

  ensureStateDirs(): void {
    ensureDir(this.paths.root, 0o700);
    ensureDir(this.paths.releases, 0o755);
  }

  docker(): Promise<DockerClient> {
    this.dockerClient ??= DockerClient.connect();
    return this.dockerClient;
  }

  /**
   * Where each deploy's result is posted (report:), or undefined. The context names this server
   * and instance, so several servers deploying one repository show side by side on a commit.
   */
  async reporter(): Promise<import("../report/index.ts").Reporter | undefined> {
    const r = this.config.report;
    if (!r) return undefined;
    const token = await resolveReportToken(this.config, this.paths.key);
    if (!token) {
      log.warn("report: no token (report.token; store one with `konta token set --report`): nothing is posted on commits");
      return undefined;
    }
    const { repoPath } = await import("../report/index.ts");
    return {
      provider: r.provider,
      url: r.url,
      token,
      repo: repoPath(this.config.repository.url),
      context: `konta/${hostname()}${this.ref.name ? `/${this.ref.name}` : ""}`,
      ...(this.config.status?.public_url ? { targetUrl: this.config.status.public_url } : {}),
      timeoutMs: r.timeout * 1000,
    };
  }

  /** Where releases go (deploy.target): the port flows drive, whichever target it is. */
  target(): Target {
    this.targetPort ??= targetOf(this.config.deploy.target);
    return this.targetPort;
  }

  async gitSource(): Promise<GitSource> {
    const r = this.config.repository;
    const retry = { retries: r.retries, idleTimeoutMs: r.timeout * 1000, baseDelayMs: 500, maxDelayMs: 8000 };
    const remote = parseSshUrl(r.url);
    // a deploy key: no token is read (nor required)
    const ref = { ref: r.branch, ...(r.tag ? { tagPattern: r.tag } : {}) };
    if (remote) return { url: r.url, ...ref, retry, ssh: { remote, keyFile: r.ssh_key_file, knownHostsFile: r.known_hosts_file } };
    const { token } = await resolveToken(this.config, this.paths.key);
    return { url: r.url, ...ref, token, username: r.username, retry };
  }

  /**
   * Where env_passthrough values come from. A login shell and the systemd unit have different
   * environments, and a manual run must not see "drift" that the next timer run undoes: when
   * `<config dir>/konta.env` exists, it is the only source. Without it (Konta in a container,
   * `docker run -e`), the process environment is.
   */
  private passthroughSource(): Record<string, string | undefined> {
    this.passthroughEnv ??= readPassthroughFile(join(dirname(this.config.file), "konta.env"), this.config.deploy.env_passthrough);
    return this.passthroughEnv;
  }

  /** Where hooks and summaries of one run go. */
  runDir(): string {
    const dir = join(this.paths.root, "run");
    ensureDir(dir, 0o700);
    return dir;
  }

  /** A kept release: its folder and how to load it. */
  release(sha: string): ReleaseRef {
    return { sha, root: this.store.root(sha), load: this.composeOptions(sha) };
  }

  /** How this server deploys (deploy: section); `prior` is what the live release runs; a dry run changes nothing. */
  deployOptions(docker: DockerClient, prior?: DeployOptions["prior"], dryRun = false): DeployOptions {
    const d = this.config.deploy;
    return {
      ...(dryRun ? {} : { journal: this.paths.engineJournal }),
      docker,
      parallel: d.parallel,
      gate: { timeoutMs: d.health_timeout * 1000, minUptimeMs: d.min_uptime * 1000 },
      pruneRemovedApps: d.prune_removed_apps,
      prior,
      restricted: !d.allow_privileged,
      createExternalNetworks: d.auto_create_external_networks,
      instance: this.instance,
    };
  }

  /** Digest of what project `project` of release `sha` takes from the host (drift when it changes). */
  hostInputs(sha: string, project: string): string {
    return hostInputs(project, this.composeOptions(sha));
  }

  composeOptions(sha: string): LoadOptions {
    const d = this.config.deploy;
    return {
      repoRoot: this.store.dir(sha),
      hostEnvDir: join(dirname(this.config.file), "env"),
      passthrough: d.env_passthrough,
      ...(d.env_passthrough.length ? { processEnv: this.passthroughSource() } : {}),
      profiles: d.profiles,
      policy: { allowPrivileged: d.allow_privileged, allowedBindRoots: d.allowed_bind_roots, allowedCapabilities: d.allowed_capabilities },
      ...(BUILD ? { cache: { file: this.paths.composeCache, build: BUILD } } : {}),
      sops: this.keyring,
      managed: this.managed,
    };
  }
}

/**
 * The URL an instance is named after. An SSH URL counts as the HTTPS URL of the same host and path
 * (git@github.com:acme/infra.git is https://github.com/acme/infra.git): a server that moves from a
 * token to a deploy key keeps its instance, so its containers stay its own.
 */
export function repositoryIdentity(url: string): string {
  const ssh = parseSshUrl(url);
  return ssh ? `https://${ssh.host}/${ssh.path.replace(/^\/+/, "")}` : url;
}

function readPassthroughFile(file: string, names: string[]): Record<string, string | undefined> {
  if (!existsSync(file)) {
    const fromShell = names.filter((n) => process.env[n] !== undefined);
    // a timer run's environment is the unit's: say so when a manual run relies on its shell
    if (fromShell.length && !process.env.INVOCATION_ID) {
      log.warn(`env_passthrough: ${fromShell.join(", ")} taken from this shell; timer runs do not see your shell. Put them in ${file} so both agree`);
    }
    return process.env;
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o044) throw new InputError(`${file} may hold secrets and is readable by group or others (mode ${mode.toString(8)})`, { hint: `run: chmod 600 ${file}` });
  try {
    return parseDotenv(readFileSync(file, "utf8"));
  } catch (err) {
    throw new InputError(`${file}: ${errorMessage(err)}`, { where: file });
  }
}
