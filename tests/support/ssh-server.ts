// A real OpenSSH server on loopback serving the rig's bare repositories through git-shell, as Git
// hosts do: one authorized deploy key, restricted to Git commands (`restrict,command=...`). Every
// session is logged with the command it asked for and a packet trace of git-upload-pack, so a
// test can count sessions and tell an advertisement-only session from one that sent a pack.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sh } from "./docker.ts";
import type { TestRepo } from "./repo.ts";

export interface SshServer {
  port: number;
  dir: string;
  /** the deploy key (0600) whose public half is authorized */
  key: string;
  /** a known_hosts file pinning the server's current host key */
  knownHosts: string;
  url(repo: TestRepo): string;
  /** the sessions so far, each with its packet trace */
  sessions(): { command: string; trace: string }[];
  stop(): Promise<void>;
  /** start again; with `newHostKey`, as another server with another host key on the same port */
  start(opts?: { newHostKey?: boolean }): Promise<void>;
  close(): Promise<void>;
}

function keygen(file: string, comment: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

export async function startSshServer(): Promise<SshServer> {
  const dir = mkdtempSync(join(tmpdir(), "konta-sshd-"));
  chmodSync(dir, 0o755);
  mkdirSync("/run/sshd", { recursive: true });
  const port = await freePort();
  const hostKey = join(dir, "host_ed25519");
  const key = join(dir, "deploy_key");
  keygen(hostKey, "host");
  keygen(key, "konta-test-deploy");
  const wrap = join(dir, "git-only.sh");
  mkdirSync(join(dir, "sessions"));
  writeFileSync(
    wrap,
    `#!/bin/sh\nn=$(date +%s%N)\nprintf '%s' "$SSH_ORIGINAL_COMMAND" > ${dir}/sessions/$n.cmd\nGIT_TRACE_PACKET=${dir}/sessions/$n.trace exec git-shell -c "$SSH_ORIGINAL_COMMAND"\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(dir, "authorized_keys"), `restrict,command="${wrap}" ${readFileSync(`${key}.pub`, "utf8")}`);
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const knownHosts = join(dir, "known_hosts");
  let proc: ReturnType<typeof Bun.spawn> | undefined;

  const start = async (opts: { newHostKey?: boolean } = {}) => {
    if (opts.newHostKey) keygen(hostKey, "another host");
    proc = Bun.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", join(dir, "sshd_config")], { stdout: "ignore", stderr: Bun.file(join(dir, "sshd.log")) });
    // up when it answers with its host key
    for (let i = 0; i < 100; i++) {
      const scan = Bun.spawnSync(["ssh-keyscan", "-T", "2", "-p", String(port), "127.0.0.1"], { stdout: "pipe", stderr: "ignore" });
      if (scan.stdout.length) {
        if (!existsSync(knownHosts)) writeFileSync(knownHosts, scan.stdout);
        return;
      }
      await Bun.sleep(100);
    }
    throw new Error(`sshd on port ${port} did not come up: ${readFileSync(join(dir, "sshd.log"), "utf8")}`);
  };
  const stop = async () => {
    proc?.kill();
    await proc?.exited;
    proc = undefined;
  };
  await start();
  return {
    port,
    dir,
    key,
    knownHosts,
    url: (repo) => `ssh://root@127.0.0.1:${port}${repo.bare}`,
    sessions: () =>
      readdirSync(join(dir, "sessions"))
        .filter((f) => f.endsWith(".cmd"))
        .sort()
        .map((f) => {
          const trace = join(dir, "sessions", f.replace(/\.cmd$/, ".trace"));
          return { command: readFileSync(join(dir, "sessions", f), "utf8"), trace: existsSync(trace) ? readFileSync(trace, "utf8") : "" };
        }),
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
