// What every command needs, built once from the global flags: the config, the state paths, the
// release store, and (lazily, because `konta version` or `konta releases` need no engine) Docker.
import { dirname, join } from "node:path";
import { type KontaConfig, loadConfig } from "./config.ts";
import { DockerClient } from "./docker/client.ts";
import type { GitSource } from "./git/remote.ts";
import { ensureDir } from "./fsutil.ts";
import { DEFAULT_CONFIG, resolveStateDir, type StatePaths, statePaths } from "./paths.ts";
import { ReleaseStore } from "./releases/index.ts";
import { resolveToken } from "./token.ts";
import type { LoadOptions } from "./compose/index.ts";
import { COMMIT, VERSION } from "./version.ts";

// What the caches of validated config and loaded projects are keyed by. A build from source may
// change a schema or the loader without changing its version: no caches then.
const BUILD = COMMIT === "dev" ? undefined : `${VERSION} ${COMMIT}`;

export interface RuntimeFlags {
  config?: string;
  stateDir?: string;
}

export class Runtime {
  readonly paths: StatePaths;
  readonly store: ReleaseStore;
  private dockerClient?: Promise<DockerClient>;

  constructor(
    readonly config: KontaConfig,
    stateDir: string,
  ) {
    this.paths = statePaths(stateDir);
    this.store = new ReleaseStore(this.paths, config.repository.path);
  }

  static async load(flags: RuntimeFlags): Promise<Runtime> {
    const stateDir = resolveStateDir(flags.stateDir);
    const paths = statePaths(stateDir);
    const cache = BUILD ? { file: paths.configCache, build: BUILD, keyFile: paths.key } : undefined;
    const config = await loadConfig(flags.config || process.env.KONTA_CONFIG || DEFAULT_CONFIG, cache);
    return new Runtime(config, stateDir);
  }

  ensureStateDirs(): void {
    ensureDir(this.paths.root, 0o700);
    ensureDir(this.paths.releases, 0o755);
  }

  docker(): Promise<DockerClient> {
    this.dockerClient ??= DockerClient.connect();
    return this.dockerClient;
  }

  async gitSource(): Promise<GitSource> {
    const r = this.config.repository;
    const { token } = await resolveToken(this.config, this.paths.key);
    return {
      url: r.url,
      ref: r.branch,
      token,
      retry: { retries: r.retries, idleTimeoutMs: r.timeout * 1000, baseDelayMs: 500, maxDelayMs: 8000 },
    };
  }

  /** Where hooks and summaries of one run go. */
  runDir(): string {
    const dir = join(this.paths.root, "run");
    ensureDir(dir, 0o700);
    return dir;
  }

  composeOptions(sha: string): LoadOptions {
    const d = this.config.deploy;
    return {
      repoRoot: this.store.dir(sha),
      hostEnvDir: join(dirname(this.config.file), "env"),
      passthrough: d.env_passthrough,
      profiles: d.profiles,
      policy: { allowPrivileged: d.allow_privileged, allowedBindRoots: d.allowed_bind_roots },
      ...(BUILD ? { cache: { file: this.paths.composeCache, build: BUILD } } : {}),
    };
  }
}
