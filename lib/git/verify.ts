// Whose signature a commit (or an annotated tag) carries, checked with the tools every Debian server
// has: OpenSSH's `ssh-keygen -Y` against an allowed-signers file in git's format (principals,
// namespaces="git", valid-after/valid-before, cert-authority), and `gpgv` against an OpenPGP
// keyring. The trust anchors are the server's files, never the repository's. What is checked is
// the object the fetch wrote, read by isomorphic-git (read.ts): its signature and the exact payload
// it signs, so a changed object with the signature kept fails.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../base/errors.ts";
import type { Signed } from "./read.ts";

export interface VerifySettings {
  /** git's allowed-signers file (SSH signatures) */
  ssh_allowed_signers?: string;
  /** an OpenPGP keyring (`gpg --export` of the trusted keys) */
  gpg_keyring?: string;
}

export interface Verified {
  /** "ada@example.org (ED25519 SHA256:...)" or "Bob <bob@example.org> (0487B2F9...)" */
  signer: string;
  method: "ssh" | "gpg";
}

function run(cmd: string, args: string[], input: Buffer | undefined, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** ssh-keygen's time: the signer's own (the committer's), as valid-after/valid-before are held against it. */
function sshTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

async function verifySsh(s: Signed, allowed: string, what: string, dir: string): Promise<Verified> {
  const sig = join(dir, "sig");
  writeFileSync(sig, `${s.signature?.trim()}\n`, { mode: 0o600 });
  const time = `-Overify-time=${sshTime(s.signedAt)}`;
  const found = await run("ssh-keygen", ["-Y", "find-principals", "-s", sig, "-f", allowed, time], undefined);
  const principals = found.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
  if (found.code !== 0 || !principals.length) {
    throw new InputError(`${what} is signed with an SSH key that ${allowed} does not allow (or not at the time it was signed)`, {
      hint: `add the signer's key to ${allowed} (git's allowed-signers format), or push a commit signed by an allowed key`,
    });
  }
  for (const principal of principals) {
    const r = await run("ssh-keygen", ["-Y", "verify", "-f", allowed, "-I", principal, "-n", "git", "-s", sig, time], s.payload);
    const good = /^Good "git" signature for (.+) with (\S+) key (SHA256:\S+)/m.exec(r.stdout);
    if (r.code === 0 && good) return { signer: `${good[1]} (${good[2]} ${good[3]})`, method: "ssh" };
  }
  throw new InputError(`${what}: its SSH signature does not match its content (the object was changed after it was signed)`, {
    hint: "nothing was deployed; find who pushed it, and push a commit signed by an allowed key",
  });
}

async function verifyGpg(s: Signed, keyring: string, what: string, dir: string): Promise<Verified> {
  const sig = join(dir, "sig.asc");
  const payload = join(dir, "payload");
  writeFileSync(sig, s.signature as string, { mode: 0o600 });
  writeFileSync(payload, s.payload, { mode: 0o600 });
  // a home of its own: nothing of root's ~/.gnupg is read or written (ProtectHome under systemd)
  const r = await run("gpgv", ["--homedir", dir, "--status-fd", "1", "--keyring", keyring, sig, payload], undefined);
  const status = (key: string) => new RegExp(`^\\[GNUPG:\\] ${key}\\b(.*)$`, "m").exec(r.stdout)?.[1]?.trim();
  const valid = status("VALIDSIG");
  const good = status("GOODSIG");
  if (r.code === 0 && valid && good && !status("EXPKEYSIG") && !status("REVKEYSIG") && !status("EXPSIG")) {
    return { signer: `${good.split(" ").slice(1).join(" ")} (${valid.split(" ")[0]})`, method: "gpg" };
  }
  const why = status("BADSIG")
    ? "its OpenPGP signature does not match its content (the object was changed after it was signed)"
    : status("EXPKEYSIG")
      ? "it is signed with an OpenPGP key that has expired"
      : status("REVKEYSIG")
        ? "it is signed with an OpenPGP key that was revoked"
        : status("NO_PUBKEY") || status("ERRSIG")
          ? `it is signed with an OpenPGP key that ${keyring} does not hold`
          : `gpgv refused its signature (${r.stderr.trim().split("\n").at(-1) ?? `exit ${r.code}`})`;
  throw new InputError(`${what}: ${why}`, { hint: `add the signer's key to ${keyring} (gpg --export KEY >> it), or push a commit signed by a trusted key` });
}

/**
 * Who signed `s`, or an InputError (exit 2) naming `what` and why it is not trusted: unsigned,
 * signed by a key the server does not allow (or outside its validity), or a signature that does
 * not match the content.
 */
export async function verifySignature(s: Signed, settings: VerifySettings, what: string): Promise<Verified> {
  if (!s.signature) {
    throw new InputError(`${what} is not signed, and repository.verify asks for a signature`, {
      hint: "sign commits (git commit -S; with an SSH key: git config gpg.format ssh) with a key the server trusts",
    });
  }
  const ssh = s.signature.includes("-----BEGIN SSH SIGNATURE-----");
  const anchor = ssh ? settings.ssh_allowed_signers : settings.gpg_keyring;
  if (!anchor) {
    throw new InputError(`${what} is signed with ${ssh ? "an SSH" : "an OpenPGP"} key, and the server trusts no such key (repository.verify.${ssh ? "ssh_allowed_signers" : "gpg_keyring"} is not set)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "konta-verify-"));
  try {
    return ssh ? await verifySsh(s, anchor, what, dir) : await verifyGpg(s, anchor, what, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
