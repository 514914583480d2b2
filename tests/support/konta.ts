// Running Konta as users do: the compiled binary (built once per test process) with a config file
// and a state dir of the test's own, against the rig's engine and Git server.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { sh } from "./docker.ts";

export const ROOT = resolve(import.meta.dir, "../..");
const BIN = process.env.KONTA_BIN ?? join(ROOT, "dist/konta");

let built = false;
/** dist/konta, rebuilt once per test process unless KONTA_BIN points at a binary to test. */
export function kontaBinary(): string {
  if (process.env.KONTA_BIN) return BIN;
  if (!built) {
    sh("bash", [join(ROOT, "packaging/build.sh"), "--quick"], { cwd: ROOT });
    built = true;
  }
  if (!existsSync(BIN) || !(statSync(BIN).mode & 0o100)) throw new Error(`no konta binary at ${BIN}`);
  return BIN;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for "the token appears nowhere" checks */
  all: string;
}

export interface KontaEnvOptions {
  repoUrl: string;
  branch?: string;
  path?: string;
  token?: string;
  deploy?: Record<string, unknown>;
  hooks?: Record<string, unknown>;
  repository?: Record<string, unknown>;
  notify?: Record<string, unknown>;
  /** more top-level sections of the config (report:, status:, sync:, ...) */
  sections?: Record<string, unknown>;
}

/** A config file and a state dir for one test. */
export class KontaEnv {
  readonly dir: string;
  readonly config: string;
  readonly state: string;

  constructor(readonly opts: KontaEnvOptions) {
    this.dir = mkdtempSync(join(tmpdir(), "konta-env-"));
    this.config = join(this.dir, "etc/config.yaml");
    this.state = join(this.dir, "state");
    mkdirSync(join(this.dir, "etc"), { recursive: true });
    this.writeConfig();
  }

  writeConfig(extra: Partial<KontaEnvOptions> = {}): void {
    const o = { ...this.opts, ...extra };
    const doc = {
      version: 1,
      repository: {
        url: o.repoUrl,
        // a server follows a branch or, with repository.tag, tags
        ...(o.repository?.tag ? {} : { branch: o.branch ?? "main" }),
        ...(o.path ? { path: o.path } : {}),
        ...(o.token ? { token: o.token } : {}),
        timeout: 15,
        retries: 2,
        ...(o.repository ?? {}),
      },
      // generous bounds: a test fails for a defect, not for a slow machine (those that test a
      // timeout set their own)
      deploy: { health_timeout: 60, min_uptime: 0.5, ...(o.deploy ?? {}) },
      ...(o.hooks ? { hooks: o.hooks } : {}),
      ...(o.notify ? { notify: o.notify } : {}),
      ...(o.sections ?? {}),
    };
    writeFileSync(this.config, stringify(doc));
    chmodSync(this.config, 0o600);
  }

  /** Host-side env file for a project (<config dir>/env/<project>.env). */
  writeHostEnv(project: string, content: string, mode = 0o600): void {
    mkdirSync(join(this.dir, "etc/env"), { recursive: true });
    const file = join(this.dir, "etc/env", `${project}.env`);
    writeFileSync(file, content);
    chmodSync(file, mode);
  }

  args(...args: string[]): string[] {
    return [...args, "--config", this.config, "--state-dir", this.state];
  }

  async run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runKonta(this.args(...args), opts);
  }

  /** Run konta and require exit 0 (the error carries the output otherwise). */
  async ok(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`konta ${args.join(" ")} exited ${r.code}:\n${r.all}`);
    return r;
  }

  /** state.json as the last run left it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document
  readState(): any {
    return JSON.parse(readFileSync(join(this.state, "state.json"), "utf8"));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** run through a wrapper, e.g. ["/usr/bin/time", "-o", file, "-f", "%M"] */
  prefix?: string[];
}

/** Always asynchronous: the test's Git server lives in the test process and must keep answering. */
export async function runKonta(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn([...(opts.prefix ?? []), kontaBinary(), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...opts.env },
    stdin: opts.input !== undefined ? new Blob([opts.input]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, all: stdout + stderr };
}
