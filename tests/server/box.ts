// A server in a box: a container whose PID 1 is systemd and which runs its own Docker engine
// (Debian 12, docker.io), made by build-image.sh. Konta is installed in it from the release
// artefacts with packaging/install.sh and runs from the real konta.timer, as on a VPS.
//
// --privileged is refused on these machines; the narrower set of flags below is what works
// (../shared/FACTS.md). This checkout is mounted read-only at /opt/konta-src (dist/, packaging/,
// the test Git server and Bun to run it).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BOX_LABEL, sh } from "../support/docker.ts";

export const BOX_IMAGE = process.env.KONTA_BOX_IMAGE ?? "konta-test/server-box:5";
export const SRC = "/opt/konta-src";
const ROOT = resolve(import.meta.dir, "../..");

// SYS_PTRACE: runc joins a container's namespaces through /proc/<pid>/ns of its first process; once
// that process has changed its user (mariadbd --user=mysql, a service with user:) only a holder of
// CAP_SYS_PTRACE may, and without it every docker exec and healthcheck in the box fails with
// "error executing setns process" (root on a real server has it)
export const BOX_FLAGS = [
  "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_PTRACE",
  "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
  "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
  "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
  "-e", "container=docker",
];

export interface ExecResult {
  code: number;
  out: string;
  err: string;
}

export interface BoxOptions {
  name: string;
  /** host path -> box path (read-write) */
  mounts?: Record<string, string>;
  /** e.g. "512m": memory and memory+swap limit of the whole box */
  memory?: string;
  extra?: string[];
  /** run this instead of systemd (a plain Docker-in-Docker container); readiness is then the engine alone */
  command?: string[];
}

export function ensureBoxImage(): void {
  sh("bash", [resolve(import.meta.dir, "build-image.sh")]);
}

export class Box {
  private constructor(readonly name: string) {}

  static async start(o: BoxOptions): Promise<Box> {
    ensureBoxImage();
    spawnSyncQuiet(["docker", "rm", "-f", o.name]);
    const mounts = Object.entries(o.mounts ?? {}).flatMap(([host, box]) => ["-v", `${host}:${box}`]);
    const memory = o.memory ? ["--memory", o.memory, "--memory-swap", o.memory] : [];
    const command = o.command ? ["--entrypoint", o.command[0] as string, BOX_IMAGE, ...o.command.slice(1)] : [BOX_IMAGE];
    sh("docker", ["run", "-d", "--name", o.name, "--hostname", o.name, "--label", `${BOX_LABEL}=1`, ...BOX_FLAGS, ...memory, "-v", `${ROOT}:${SRC}:ro`, ...mounts, ...(o.extra ?? []), ...command]);
    const box = new Box(o.name);
    await box.waitReady(!o.command);
    if (o.memory) await box.chargeContainers();
    return box;
  }

  /** systemd up (unless it runs something else) and the box's own engine answering. */
  private async waitReady(systemd: boolean, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const probe = `${systemd ? "systemctl is-system-running" : "echo running"}; docker info --format '{{.ServerVersion}}'`;
    let last = "";
    while (Date.now() < deadline) {
      const r = await this.exec(probe);
      last = r.out + r.err;
      if (/^(running|degraded)\n[0-9]/.test(r.out)) return;
      await Bun.sleep(500);
    }
    throw new Error(`box ${this.name} did not come up: ${last}\n${(await this.exec("systemctl --failed --no-pager; journalctl -b --no-pager | tail -n 40")).out}`);
  }

  /**
   * The box's engine makes its containers' cgroups under the box's own (daemon.json cgroup-parent):
   * the box sees the host's cgroup tree (cgroup v1 here), and by default they would be the box's
   * siblings, so that a limited box's apps would not count against its limit as a real server's do.
   * Where the box has a cgroup namespace of its own (its root is "/"), they are nested already.
   */
  private async chargeContainers(): Promise<void> {
    await this.sh(`parent=$(awk -F: '$2 == "memory" {print $3}' /proc/1/cgroup)
      [ -n "$parent" ] || parent=$(awk -F: '$1 == "0" {print $3}' /proc/1/cgroup)
      parent=\${parent%/init.scope}
      if [ -z "$parent" ] || [ "$parent" = / ]; then exit 0; fi
      mkdir -p /etc/docker
      printf '{"cgroup-parent": "%s/containers"}\n' "$parent" >/etc/docker/daemon.json
      systemctl restart docker`);
    await this.waitReady(true);
  }

  /** Run a bash script inside the box as root (a login-less shell, like `ssh root@vps`). */
  async exec(script: string, opts: { input?: string; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const proc = Bun.spawn(["docker", "exec", "-i", ...env, this.name, "bash", "-c", script], {
      stdin: opts.input !== undefined ? new TextEncoder().encode(opts.input) : "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, out, err };
  }

  /** Like exec, but a non-zero exit is an error; returns stdout. */
  async sh(script: string, opts: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.exec(`set -euo pipefail\n${script}`, opts);
    if (r.code !== 0) throw new Error(`in box ${this.name}: ${script.split("\n")[0]} ... exited ${r.code}\n${r.out}\n${r.err}`);
    return r.out;
  }

  /**
   * Poll `fn` until it gives a value (not undefined or false), errors counting as not yet; on the
   * timeout the error carries the last one and the journal of konta.service.
   */
  async poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const v = await fn();
        if (v !== undefined && v !== false) return v;
      } catch (err) {
        last = err;
      }
      await Bun.sleep(500);
    }
    const journal = await this.exec("journalctl -u konta.service --no-pager -n 60");
    throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ""}\n${journal.out}`);
  }

  /** Poll `check` (a script whose exit 0 means done) until it passes. */
  async waitFor(what: string, script: string, timeoutMs = 60_000, pollMs = 500): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: ExecResult = { code: -1, out: "", err: "" };
    while (Date.now() < deadline) {
      last = await this.exec(script);
      if (last.code === 0) return last.out;
      await Bun.sleep(pollMs);
    }
    const journal = await this.exec("journalctl -u konta.service --no-pager -n 40");
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nlast: ${last.out}${last.err}\njournal of konta.service:\n${journal.out}`);
  }

  /** The box's memory cgroup on the host (cgroup v1 with cgroupfs, or v2). */
  private memoryCgroup(): { dir: string; v2: boolean } {
    const id = sh("docker", ["inspect", "-f", "{{.Id}}", this.name]).trim();
    for (const dir of [`/sys/fs/cgroup/memory/docker/${id}`, `/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`]) {
      if (existsSync(dir)) return { dir, v2: !dir.includes("/memory/") };
    }
    throw new Error(`no memory cgroup found for box ${this.name}`);
  }

  /** How many processes the kernel has OOM-killed in the box so far. */
  oomKills(): number {
    const { dir, v2 } = this.memoryCgroup();
    const text = readFileSync(join(dir, v2 ? "memory.events" : "memory.oom_control"), "utf8");
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
  }

  /** The box's anonymous memory now (its processes' own, page cache not counted), in bytes. */
  anonMemory(): number {
    const { dir, v2 } = this.memoryCgroup();
    const text = readFileSync(join(dir, "memory.stat"), "utf8");
    return Number(new RegExp(`^${v2 ? "anon" : "total_rss"} (\\d+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  }

  remove(): void {
    spawnSyncQuiet(["docker", "rm", "-f", "-v", this.name]);
  }
}

function spawnSyncQuiet(cmd: string[]): void {
  Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" });
}
