// Git over SSH with a deploy key: the system's OpenSSH client runs `git-upload-pack '<path>'` on
// the server, and Konta speaks the same pack protocol as over HTTP on its stdin/stdout (protocol
// v0: the advertisement first, then our wants in the same session). Host keys are pinned: only
// repository.known_hosts_file is trusted, never ~/.ssh, never accept-new; no agent, no user config.
import { appendFileSync, chmodSync, closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { InputError, UnreachableError } from "../base/errors.ts";
import { log } from "../base/log.ts";
import { backoffDelay } from "./http.ts";
import { addAdvertised, type Advertisement, type GitSource } from "./remote.ts";
import { knownHostsName, type SshRemote } from "./url.ts";
import { PackProtocolError, type PackWant, PktReader, readAnswer, type ShallowUpdate, uploadPackRequest } from "./upload-pack.ts";

type Ssh = NonNullable<GitSource["ssh"]>;

/** Why a session failed, and whether trying again may help (the network) or not (keys, host key, path). */
class SshFailure extends Error {
  constructor(
    readonly error: UnreachableError,
    readonly transient: boolean,
  ) {
    super(error.message);
  }
}

/** The deploy key and known_hosts as a person must leave them: refused before any connection (exit 2). */
export function checkKeyFiles(ssh: Ssh): void {
  const file = (path: string, what: string, remedy: string) => {
    try {
      return statSync(path);
    } catch {
      throw new InputError(`${what} ${path} does not exist`, { hint: remedy });
    }
  };
  const key = file(ssh.keyFile, "repository.ssh_key_file", "run `konta install --ssh` to make a deploy key, or set repository.ssh_key_file");
  if (key.mode & 0o077) throw new InputError(`the deploy key ${ssh.keyFile} is readable by others (mode ${(key.mode & 0o777).toString(8)})`, { hint: `run: chmod 600 ${ssh.keyFile}` });
  const uid = process.getuid?.();
  if (uid !== undefined && key.uid !== uid) throw new InputError(`the deploy key ${ssh.keyFile} belongs to uid ${key.uid}, not to the user Konta runs as (uid ${uid})`, { hint: `run: chown ${uid} ${ssh.keyFile}` });
  file(ssh.knownHostsFile, "repository.known_hosts_file", `run \`konta install --ssh\` to record ${ssh.remote.host}'s host key (and compare its fingerprint), or: ssh-keyscan ${ssh.remote.port ? `-p ${ssh.remote.port} ` : ""}${ssh.remote.host} >> ${ssh.knownHostsFile}`);
}

export function sshArgs(ssh: Ssh, timeoutSec: number, command: string[]): string[] {
  const r = ssh.remote;
  return [
    "ssh",
    "-F", "none",
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "IdentityAgent=none",
    "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${ssh.knownHostsFile}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "UpdateHostKeys=no",
    "-o", `ConnectTimeout=${timeoutSec}`,
    "-o", `ServerAliveInterval=${timeoutSec}`,
    "-o", "ServerAliveCountMax=2",
    "-o", "LogLevel=ERROR",
    "-i", ssh.keyFile,
    ...(r.port ? ["-p", String(r.port)] : []),
    ...(r.user ? ["-l", r.user] : []),
    "--",
    r.host,
    ...command,
  ];
}

/** The command the server runs, quoted as Git quotes it. */
const uploadPack = (path: string) => `git-upload-pack '${path.replaceAll("'", "'\\''")}'`;

/** What the host offers now (ssh-keyscan): known_hosts lines, or "" when it answers nothing. */
function keyscan(r: SshRemote, timeoutSec: number): string {
  const scan = Bun.spawnSync(["ssh-keyscan", "-T", String(timeoutSec), ...(r.port ? ["-p", String(r.port)] : []), r.host], { stdout: "pipe", stderr: "ignore" });
  return scan.stdout.toString().trim();
}

/** "ED25519 SHA256:..." for each key of known_hosts lines. */
function fingerprintsOf(keys: string): string[] {
  const fp = Bun.spawnSync(["ssh-keygen", "-l", "-E", "sha256", "-f", "-"], { stdin: Buffer.from(`${keys}\n`), stdout: "pipe", stderr: "ignore" });
  return fp.stdout
    .toString()
    .split("\n")
    .map((l) => /^\d+ (SHA256:\S+) .*\((\w+)\)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => `${m[2]} ${m[1]}`);
}

/** The SHA256 fingerprints a host offers now, for a person to compare. */
export function offeredFingerprints(r: SshRemote, timeoutSec = 5): string[] {
  const keys = keyscan(r, timeoutSec);
  return keys ? fingerprintsOf(keys) : [];
}

/** Make an ed25519 deploy key at `keyFile` unless one is there; returns whether it made one. */
export function ensureDeployKey(keyFile: string, comment: string): boolean {
  if (existsSync(keyFile)) return false;
  const r = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyFile], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new InputError(`ssh-keygen could not write ${keyFile}: ${r.stderr.toString().trim()}`, { hint: "is openssh-client installed (ssh-keygen on PATH)?" });
  chmodSync(keyFile, 0o600);
  return true;
}

/** The public half of the deploy key, as a Git host's "add deploy key" form wants it. */
export function publicKey(keyFile: string): string {
  if (existsSync(`${keyFile}.pub`)) return readFileSync(`${keyFile}.pub`, "utf8").trim();
  return Bun.spawnSync(["ssh-keygen", "-y", "-f", keyFile], { stdout: "pipe", stderr: "ignore" }).stdout.toString().trim();
}

/**
 * Pin the host keys of `remote` in `knownHostsFile` when none is pinned yet (ssh-keyscan: what the
 * host offers now, for a person to compare); returns the fingerprints pinned and whether they are new.
 */
export function pinHostKeys(remote: SshRemote, knownHostsFile: string, timeoutSec: number): { fingerprints: string[]; added: boolean } {
  const name = knownHostsName(remote);
  const pinned = existsSync(knownHostsFile) ? Bun.spawnSync(["ssh-keygen", "-F", name, "-f", knownHostsFile], { stdout: "pipe", stderr: "ignore" }) : undefined;
  if (pinned?.exitCode === 0) {
    const lines = pinned.stdout.toString().split("\n").filter((l) => l && !l.startsWith("#")).join("\n");
    return { fingerprints: fingerprintsOf(lines), added: false };
  }
  const keys = keyscan(remote, timeoutSec);
  if (!keys) throw new UnreachableError(`cannot read the host key of ${remote.host}${remote.port ? `:${remote.port}` : ""} (ssh-keyscan answered nothing)`, { hint: "check repository.url and that the host is reachable; nothing was written" });
  appendFileSync(knownHostsFile, `${keys}\n`, { mode: 0o644 });
  return { fingerprints: fingerprintsOf(keys), added: true };
}

/** The deploy key's SHA256 fingerprint (never the key), or undefined when it cannot be read. */
export function keyFingerprint(keyFile: string): string | undefined {
  const r = Bun.spawnSync(["ssh-keygen", "-l", "-E", "sha256", "-f", keyFile], { stdout: "pipe", stderr: "ignore" });
  return /SHA256:\S+/.exec(r.stdout.toString())?.[0];
}

function classify(ssh: Ssh, stderr: string): SshFailure {
  const where = `${ssh.remote.host}${ssh.remote.port ? `:${ssh.remote.port}` : ""}`;
  const name = knownHostsName(ssh.remote);
  const firstLine = stderr.split("\n").find((l) => l.trim() && !l.startsWith("@@@"))?.trim() ?? "the session ended without an answer";
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr)) {
    const offered = offeredFingerprints(ssh.remote);
    return new SshFailure(
      new UnreachableError(`the host key of ${where} is not the one pinned in ${ssh.knownHostsFile}; it now offers ${offered.join(", ") || "a key that could not be read"}; nothing was fetched or deployed`, {
        hint: `if the Git host really changed its key (check its published fingerprints), replace the ${name} line of ${ssh.knownHostsFile} (\`konta install --ssh\` records it again); otherwise someone may be in between`,
      }),
      false,
    );
  }
  if (/Host key verification failed|No \S+ host key is known/i.test(stderr)) {
    const offered = offeredFingerprints(ssh.remote);
    return new SshFailure(
      new UnreachableError(`${where} is not a known host in ${ssh.knownHostsFile} (it offers ${offered.join(", ") || "no readable key"}); nothing was fetched or deployed`, {
        hint: `compare the fingerprint with the one the Git host publishes, then run \`konta install --ssh\` (or: ssh-keyscan ${ssh.remote.port ? `-p ${ssh.remote.port} ` : ""}${ssh.remote.host} >> ${ssh.knownHostsFile})`,
      }),
      false,
    );
  }
  if (/Permission denied \(|Too many authentication failures/i.test(stderr)) {
    return new SshFailure(
      new UnreachableError(`${where} refused the deploy key ${keyFingerprint(ssh.keyFile) ?? ssh.keyFile} for ${ssh.remote.path}`, {
        hint: `add the public key (${ssh.keyFile}.pub) to the repository as a deploy key (GitHub: Settings → Deploy keys; read access is enough)`,
      }),
      false,
    );
  }
  if (/does not appear to be a git repository|repository not found|not a git repository|No such file or directory|could not read from remote repository/i.test(stderr) && !/ssh:/i.test(firstLine)) {
    return new SshFailure(new UnreachableError(`${where} has no repository ${ssh.remote.path} (or the deploy key may not read it): ${firstLine}`, { hint: "check repository.url" }), false);
  }
  if (/Connection refused|timed out|No route to host|Could not resolve hostname|Network is unreachable|Connection (closed|reset)|kex_exchange_identification|Broken pipe/i.test(stderr) || !stderr.trim()) {
    return new SshFailure(new UnreachableError(`cannot reach ${where} over SSH: ${firstLine}`, { hint: "the Git server is unreachable or failing; nothing was changed, the next run tries again" }), true);
  }
  return new SshFailure(new UnreachableError(`SSH to ${where} failed: ${firstLine}`), false);
}

/** stdout with an idle timeout: no byte for `ms` ends the session. */
async function* idleTimed(stream: ReadableStream<Uint8Array>, ms: number, kill: () => void): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      timer = setTimeout(kill, ms);
      const step = await reader.read();
      clearTimeout(timer);
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/** One SSH session to git-upload-pack: open reads the advertisement; then fetch, or close. */
export class SshSession {
  private constructor(
    private readonly src: GitSource,
    private readonly proc: Bun.Subprocess<"pipe", "pipe", "pipe">,
    private readonly reader: PktReader,
    private readonly stderr: Promise<string>,
    readonly advertisement: Advertisement,
  ) {}

  /** Connect and read the ref advertisement, retrying network faults with backoff. */
  static async open(src: GitSource): Promise<SshSession> {
    const ssh = src.ssh as Ssh;
    checkKeyFiles(ssh);
    for (let attempt = 0; ; attempt++) {
      try {
        return await SshSession.attempt(src, ssh);
      } catch (err) {
        if (!(err instanceof SshFailure)) throw err;
        if (!err.transient || attempt >= src.retry.retries) throw err.error;
        const delay = backoffDelay(attempt, src.retry);
        log.warn(`git: ${err.message}; retrying in ${Math.round(delay)} ms`);
        await Bun.sleep(delay);
      }
    }
  }

  private static async attempt(src: GitSource, ssh: Ssh): Promise<SshSession> {
    const timeoutSec = Math.max(1, Math.round(src.retry.idleTimeoutMs / 1000));
    const proc = Bun.spawn(sshArgs(ssh, timeoutSec, [uploadPack(ssh.remote.path)]), { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" } });
    const stderr = new Response(proc.stderr).text();
    const reader = new PktReader(idleTimed(proc.stdout, src.retry.idleTimeoutMs, () => proc.kill()));
    const adv: Advertisement = { refs: new Map(), capabilities: new Set() };
    try {
      for (let line = await reader.next(); line !== undefined; line = await reader.next()) {
        if (line === null) throw new PackProtocolError("the session ended before the ref advertisement");
        const text = line.toString("latin1").replace(/\n$/, "");
        if (text.startsWith("ERR ")) throw new PackProtocolError(`the server refused: ${text.slice(4)}`);
        if (!addAdvertised(text, adv)) throw new PackProtocolError("the answer is not a Git ref advertisement");
      }
    } catch (err) {
      proc.kill();
      await proc.exited;
      if (err instanceof PackProtocolError) throw classify(ssh, `${await stderr}\n${err.message}`.trim());
      throw err;
    }
    return new SshSession(src, proc, reader, stderr, adv);
  }

  /** Ask for `req` in this session and write the pack into `packPath`. */
  async fetch(req: PackWant, packPath: string): Promise<ShallowUpdate> {
    const ssh = this.src.ssh as Ssh;
    if (!this.advertisement.capabilities.has("side-band-64k") && !this.advertisement.capabilities.has("side-band")) {
      await this.close();
      throw new UnreachableError(`cannot fetch from ${ssh.remote.host}: its git-upload-pack offers no side-band (a Git older than 1.6)`);
    }
    this.proc.stdin.write(uploadPackRequest(req, this.advertisement.capabilities));
    await this.proc.stdin.flush();
    const fd = openSync(packPath, "w", 0o600);
    try {
      return await readAnswer(this.reader, this.advertisement.capabilities, fd);
    } catch (err) {
      this.proc.kill();
      await this.proc.exited;
      if (err instanceof PackProtocolError) throw classify(ssh, `${await this.stderr}\n${err.message}`).error;
      throw err;
    } finally {
      closeSync(fd);
      await this.close();
    }
  }

  /** End the session: a flush tells git-upload-pack we want nothing (more). */
  async close(): Promise<void> {
    try {
      this.proc.stdin.write("0000");
      await this.proc.stdin.end();
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.proc.kill(), 5000);
    await this.proc.exited;
    clearTimeout(timer);
  }
}
