// One call per test file: a running engine with the test images, a Git server with token auth,
// helpers for repositories and Konta environments, and clean-up after every test (by label),
// whether it passed or not.
import { afterAll, afterEach, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, ensureEngine } from "./docker.ts";
import { type GitServer, startGitServer } from "./git-server.ts";
import { KontaEnv, type KontaEnvOptions } from "./konta.ts";
import { TestRepo } from "./repo.ts";

export const TOKEN = `ghp_test${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

export interface Rig {
  git: GitServer;
  /** a new repository on the Git server */
  repo(name?: string, branch?: string): TestRepo;
  /** a config + state dir pointing at `repo`, with the rig's token */
  env(repo: TestRepo, opts?: Partial<KontaEnvOptions>): KontaEnv;
}

let counter = 0;

export function useRig(opts: { docker?: boolean } = {}): Rig {
  const gitRoot = mkdtempSync(join(tmpdir(), "konta-git-"));
  const disposables: { dispose(): void }[] = [];
  let git: GitServer | undefined;

  beforeAll(async () => {
    if (opts.docker !== false) await ensureEngine();
    git = await startGitServer({ root: gitRoot, token: TOKEN });
  });
  afterEach(async () => {
    git?.clearFaults();
    if (opts.docker !== false) await cleanup();
  });
  afterAll(async () => {
    await git?.close();
    for (const d of disposables) d.dispose();
    rmSync(gitRoot, { recursive: true, force: true });
    if (opts.docker !== false) await cleanup();
  });

  return {
    get git() {
      if (!git) throw new Error("the rig is not started yet (use it inside tests)");
      return git;
    },
    repo(name = `repo${++counter}`, branch = "main") {
      const r = new TestRepo(gitRoot, name, branch);
      disposables.push(r);
      return r;
    },
    env(repo, o = {}) {
      const e = new KontaEnv({ repoUrl: (git as GitServer).repoUrl(repo.name), branch: repo.branch, token: TOKEN, ...o });
      disposables.push(e);
      return e;
    },
  };
}
