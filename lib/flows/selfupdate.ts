// `konta self-update --from <url|file> --sha256 <hex>`: verify the checksum, check that the new
// binary runs, replace the running binary atomically (rename), keep the old one as konta.old.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ofetch } from "ofetch";
import { sha256 } from "../base/digest.ts";
import { dropFromPageCache } from "../base/libc.ts";
import { InputError, UnreachableError } from "../base/errors.ts";
import { runHook } from "../hooks/index.ts";
import { resolveConfigFile } from "../base/paths.ts";
import { redact } from "../base/redact.ts";
import { Runtime } from "./runtime.ts";

export interface UpdateResult {
  target: string;
  backup: string;
  version: string;
}

async function download(from: string): Promise<Uint8Array> {
  if (/^https?:\/\//.test(from)) {
    try {
      return new Uint8Array(await ofetch(from, { responseType: "arrayBuffer", timeout: 300_000, retry: 2 }));
    } catch (err) {
      throw new UnreachableError(`cannot download ${redact(from)}: ${redact((err as Error).message)}`);
    }
  }
  if (!existsSync(from)) throw new InputError(`${from} does not exist`);
  return readFileSync(from);
}

export async function selfUpdate(from: string, expected: string, target: string): Promise<UpdateResult> {
  if (!/^[0-9a-fA-F]{64}$/.test(expected)) throw new InputError("--sha256 must be 64 hex characters (see dist/konta-<target>.sha256)");
  if (basename(target).startsWith("bun")) throw new InputError("self-update replaces the compiled konta binary; this is running under bun from source");
  const bytes = await download(from);
  const actual = sha256(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new InputError(`checksum mismatch for ${redact(from)}: expected ${expected.toLowerCase()}, got ${actual}; nothing was changed`);
  }
  const next = join(dirname(target), `.${basename(target)}.new`);
  writeFileSync(next, bytes, { mode: 0o755 });
  chmodSync(next, 0o755);
  const check = spawnSync(next, ["version"], { encoding: "utf8", timeout: 20_000 });
  if (check.status !== 0) {
    rmSync(next, { force: true });
    throw new InputError(`the new binary does not run here (${(check.stderr || check.error?.message || "").trim() || `exit ${check.status}`}); nothing was changed`);
  }
  const backup = `${target}.old`;
  copyFileSync(target, backup);
  renameSync(next, target);
  dropFromPageCache(target);
  return { target, backup, version: check.stdout.trim() };
}

/**
 * After an update: hooks/post_update.sh of the live release, when there is a config and a live
 * release. Returns why it was skipped, or its exit code.
 */
export async function runPostUpdateHook(flags: { config?: string; stateDir?: string }): Promise<{ skipped: string } | { exitCode: number }> {
  const config = resolveConfigFile(flags.config);
  if (!existsSync(config)) return { skipped: "no config" };
  const rt = await Runtime.load({ config, stateDir: flags.stateDir });
  const live = rt.store.current();
  if (!live) return { skipped: "no live release" };
  const hook = await runHook("post_update", { commit: live, previous: live, releaseDir: rt.store.root(live), projects: [] }, rt.config.hooks);
  return hook.ran ? { exitCode: hook.exitCode ?? 0 } : { skipped: "the release has no hooks/post_update.sh (or hooks are disabled)" };
}
