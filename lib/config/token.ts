// The Git token: where it comes from (KONTA_TOKEN > repository.token_file > repository.token),
// and its encryption at rest in the config (`enc:v1:` + AES-256-GCM, key in <state>/key).
// WebCrypto rather than node:crypto: every timer run decrypts the token, and node:crypto costs ~9 MB.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { KontaConfig } from "./types.ts";
import { InputError } from "../base/errors.ts";
import { ensureDir, writeFileAtomic } from "../base/fsutil.ts";
import { registerSecret } from "../base/redact.ts";

const PREFIX = "enc:v1:";
const AAD = Buffer.from("konta-token-v1");

function readKey(keyFile: string, create: boolean): Buffer {
  if (!existsSync(keyFile)) {
    if (!create) {
      throw new InputError(`cannot decrypt repository.token: the key file ${keyFile} is missing`, {
        hint: "the token was encrypted on another machine or the state dir was reset; run `konta token set` again",
      });
    }
    ensureDir(dirname(keyFile));
    writeFileAtomic(keyFile, crypto.getRandomValues(new Uint8Array(32)), 0o600);
  }
  const key = readFileSync(keyFile);
  if (key.length !== 32) throw new InputError(`${keyFile} is not a Konta key (expected 32 bytes)`, { hint: "run `konta token set` again" });
  return key;
}

function aesKey(raw: Buffer, use: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, [use]);
}

/** `enc:v1:` + base64(iv 12 | tag 16 | ciphertext) */
export async function encryptToken(token: string, keyFile: string): Promise<string> {
  const key = await aesKey(readKey(keyFile, true), "encrypt");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = Buffer.from(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: AAD }, key, Buffer.from(token, "utf8")));
  const body = sealed.subarray(0, sealed.length - 16);
  return PREFIX + Buffer.concat([iv, sealed.subarray(sealed.length - 16), body]).toString("base64");
}

export async function decryptToken(value: string, keyFile: string): Promise<string> {
  const raw = Buffer.from(value.slice(PREFIX.length), "base64");
  if (raw.length < 29) throw new InputError("repository.token is not a valid enc:v1 value", { hint: "run `konta token set` again" });
  const key = await aesKey(readKey(keyFile, false), "decrypt");
  try {
    const sealed = Buffer.concat([raw.subarray(28), raw.subarray(12, 28)]);
    return Buffer.from(await crypto.subtle.decrypt({ name: "AES-GCM", iv: raw.subarray(0, 12), additionalData: AAD }, key, sealed)).toString("utf8");
  } catch {
    throw new InputError(`cannot decrypt repository.token with the key in ${keyFile}`, {
      hint: "the token was encrypted with another key; run `konta token set` again",
    });
  }
}

function readTokenFile(path: string, configFile: string): string {
  const file = resolve(dirname(configFile), path);
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    throw new InputError(`repository.token_file ${file} does not exist`, { where: configFile });
  }
  if (mode & 0o044) {
    throw new InputError(`token file ${file} is readable by group or others (mode ${mode.toString(8)})`, {
      hint: `run: chmod 600 ${file}`,
    });
  }
  const token = readFileSync(file, "utf8").trim();
  if (!token) throw new InputError(`token file ${file} is empty`);
  return token;
}

export type TokenSource = "env" | "token_file" | "config" | "none";

/** Resolve the token and register it for redaction before anything could print it. */
export async function resolveToken(config: KontaConfig, keyFile: string): Promise<{ token?: string; source: TokenSource }> {
  const fromEnv = process.env.KONTA_TOKEN;
  let result: { token?: string; source: TokenSource } = { source: "none" };
  if (fromEnv) result = { token: fromEnv, source: "env" };
  else if (config.repository.token_file) result = { token: readTokenFile(config.repository.token_file, config.file), source: "token_file" };
  else if (config.repository.token) {
    const v = config.repository.token;
    registerSecret(v);
    result = { token: v.startsWith(PREFIX) ? await decryptToken(v, keyFile) : v, source: "config" };
  }
  registerSecret(result.token, config.repository.username);
  return result;
}

export function isEncrypted(value: string | undefined): boolean {
  return value?.startsWith(PREFIX) ?? false;
}

/** Rewrite the config with a secret encrypted at `key`, keeping comments and every other key; mode 0600. */
export async function storeSecretInConfig(configFile: string, key: string[], secret: string, keyFile: string): Promise<void> {
  registerSecret(secret);
  const [{ parseDocument }, { parseConfig }] = await Promise.all([import("yaml"), import("./parse.ts")]);
  const text = readFileSync(configFile, "utf8");
  parseConfig(text, configFile); // refuse to rewrite a config that does not load
  const doc = parseDocument(text);
  doc.setIn(key, await encryptToken(secret, keyFile));
  writeFileAtomic(configFile, doc.toString(), 0o600);
}


/** webhook.secret, decrypted when stored encrypted, registered for redaction. */
export function resolveWebhookSecret(config: KontaConfig, keyFile: string): Promise<string | undefined> {
  return resolveStoredSecret(config.webhook?.secret, keyFile);
}

/** report.token (commit statuses), decrypted when stored encrypted, registered for redaction. */
export function resolveReportToken(config: KontaConfig, keyFile: string): Promise<string | undefined> {
  return resolveStoredSecret(config.report?.token, keyFile);
}

/** status.password (the status page's), decrypted when stored encrypted, registered for redaction. */
export function resolveStatusPassword(config: KontaConfig, keyFile: string): Promise<string | undefined> {
  return resolveStoredSecret(config.status?.password, keyFile);
}

async function resolveStoredSecret(v: string | undefined, keyFile: string): Promise<string | undefined> {
  if (!v) return undefined;
  registerSecret(v);
  const secret = v.startsWith(PREFIX) ? await decryptToken(v, keyFile) : v;
  registerSecret(secret);
  return secret;
}
