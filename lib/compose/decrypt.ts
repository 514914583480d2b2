// SOPS-encrypted files of a project (.env, env_file, file-based secrets), opened with the host's age
// identities while the project loads. Loading is synchronous and age is not: a load that meets a
// file whose data key is still locked throws LockedSopsFile; `unlocking` opens that key and loads
// again (once per encrypted file at most). Reading the identity file goes through inputs.ts, so a
// project that used a secret is never kept by the load cache. Decrypted values are registered with
// redact.ts; decrypted secret files stay in the keyring until the deploy writes them (secret-files.ts).
import { InputError } from "../base/errors.ts";
import { registerSecretValue } from "../base/redact.ts";
import { decryptDocument, parseIdentities, parseSops, plaintextOf, SopsError, unlockDataKey } from "../sops/index.ts";
import { DotenvError, parseDotenv } from "./dotenv.ts";
import { LockedSopsFile } from "./errors.ts";
import { exists, fileMode, readText } from "./inputs.ts";
import type { SopsKeyring } from "./keyring.ts";
import type { Lookup } from "./interpolate.ts";

export interface Decrypted {
  /** the file as `sops --decrypt` prints it */
  text: string;
  /** YAML and JSON documents: the decrypted tree */
  tree?: Map<string, unknown>;
}

/** `text` decrypted when it is a SOPS document, else undefined. `label` names the file in errors. */
function open(keyring: SopsKeyring, file: string, text: string, label: string): Decrypted | undefined {
  const fail = (message: string, hint?: string, unknown?: string): never => {
    throw new InputError(`${label} is SOPS-encrypted: ${message}`, { where: file, ...(hint ? { hint } : {}), ...(unknown ? { unknown } : {}) });
  };
  // what the SOPS format itself rejects (no age recipient, a bad value, the MAC) names the file
  const sops = <T>(step: () => T): T => {
    try {
      return step();
    } catch (err) {
      if (err instanceof SopsError) fail(err.message);
      throw err;
    }
  };
  const doc = sops(() => parseSops(text, file));
  if (!doc) return undefined;
  // read on every load, not only to unlock: it is what tells the load cache this project holds secrets
  const ids = identities(keyring.identityFile, fail);
  const key = keyring.keys.get(doc.meta.mac);
  if (!key) throw new LockedSopsFile(doc, ids, label);
  const { tree, secrets } = sops(() => decryptDocument(doc, key));
  // masked wherever they could appear (plan, logs, errors); a multi-line one line by line too
  for (const v of secrets) registerSecretValue(v);
  const out: Decrypted = { text: plaintextOf(doc, tree) };
  if (doc.format === "yaml" || doc.format === "json") out.tree = tree;
  return out;
}

async function unlock(keyring: SopsKeyring, locked: LockedSopsFile): Promise<void> {
  try {
    keyring.keys.set(locked.doc.meta.mac, await unlockDataKey(locked.doc, locked.identities));
  } catch (err) {
    if (!(err instanceof SopsError)) throw err;
    throw new InputError(`${locked.label} is SOPS-encrypted: ${err.message}`, {
      hint: `check that ${keyring.identityFile} holds the age identity of one of the file's recipients (sops updatekeys adds a recipient)`,
    });
  }
}

function identities(f: string, fail: (message: string, hint?: string, unknown?: string) => never): string[] {
  if (!exists(f)) fail(`the age identity file ${f} does not exist`, `put the server's age identity in ${f} (mode 0600), or set secrets.age_key_file`, "the age key of SOPS-encrypted files");
  const mode = fileMode(f) & 0o777;
  if (mode & 0o077) fail(`the age identity file ${f} is readable by group or others (mode ${mode.toString(8)})`, `run: chmod 600 ${f}`);
  try {
    return parseIdentities(readText(f));
  } catch (err) {
    if (err instanceof SopsError) fail(`${f}: ${err.message}`);
    return fail(`${f} cannot be read: ${(err as Error).message}`);
  }
}

/** Run a (synchronous) load, unlocking each SOPS data key it asks for and loading again. */
export async function unlocking<T>(keyring: SopsKeyring | undefined, load: () => T): Promise<T> {
  for (;;) {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof LockedSopsFile) || !keyring) throw err;
      await unlock(keyring, err);
    }
  }
}

/** `text` decrypted when it is a SOPS document; without a keyring such a document is an error. */
export function openSops(keyring: SopsKeyring | undefined, file: string, text: string, label: string): Decrypted | undefined {
  if (keyring) return open(keyring, file, text, label);
  let sops = false;
  try {
    sops = parseSops(text, file) !== undefined;
  } catch {
    sops = true;
  }
  if (sops) throw new InputError(`${label} is SOPS-encrypted, but no age identity is configured for this load`, { where: file, unknown: "the age key of SOPS-encrypted files" });
  return undefined;
}

/**
 * The variables of an env file (`.env`, env_file, label_file) with content `text`, decrypted when it
 * is SOPS-encrypted; `${VAR}` in it resolves from `lookup`, then the file's own lines above.
 */
export function envFileVars(
  file: string,
  text: string,
  label: string,
  keyring: SopsKeyring | undefined,
  lookup?: Lookup,
): Record<string, string> {
  const opened = openSops(keyring, file, text, label);
  // a YAML or JSON document as an env file: its top-level values, exactly (as `sops exec-env`)
  if (opened?.tree) {
    const vars: Record<string, string> = {};
    for (const [k, v] of opened.tree) {
      if (v instanceof Map || Array.isArray(v)) throw new InputError(`${label}: "${k}" is not a plain value; a YAML or JSON env file must be a flat mapping`, { where: file });
      vars[k] = v === null || v === undefined ? "" : String(v);
    }
    return vars;
  }
  try {
    return parseDotenv(opened?.text ?? text, lookup);
  } catch (err) {
    if (err instanceof DotenvError) throw new InputError(`${label}: ${err.message}`, { where: file });
    throw err;
  }
}

/** Where a decrypted secret file of a project is written: named by the encrypted file's digest. */
export function secretFilePath(keyring: SopsKeyring, project: string, name: string, digest: string): string {
  return `${keyring.filesDir}/${project}/${name.replace(/[^\w.-]/g, "_")}-${digest.replace(/^sha256:/, "").slice(0, 16)}`;
}
