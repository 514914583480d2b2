// The Git token: where it comes from (KONTA_TOKEN > repository.token_file > repository.token),
// and its encryption at rest in the config (`enc:v1:` + AES-256-GCM, key in <state>/key).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { type KontaConfig, parseConfig } from "./config.ts";
import { InputError } from "./errors.ts";
import { ensureDir, writeFileAtomic } from "./fsutil.ts";
import { registerSecret } from "./redact.ts";

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
    writeFileAtomic(keyFile, randomBytes(32), 0o600);
  }
  const key = readFileSync(keyFile);
  if (key.length !== 32) throw new InputError(`${keyFile} is not a Konta key (expected 32 bytes)`, { hint: "run `konta token set` again" });
  return key;
}

export function encryptToken(token: string, keyFile: string): string {
  const key = readKey(keyFile, true);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(AAD);
  const body = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function decryptToken(value: string, keyFile: string): string {
  const raw = Buffer.from(value.slice(PREFIX.length), "base64");
  if (raw.length < 29) throw new InputError("repository.token is not a valid enc:v1 value", { hint: "run `konta token set` again" });
  const key = readKey(keyFile, false);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12)).setAAD(AAD);
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
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
export function resolveToken(config: KontaConfig, keyFile: string): { token?: string; source: TokenSource } {
  const fromEnv = process.env.KONTA_TOKEN;
  let result: { token?: string; source: TokenSource } = { source: "none" };
  if (fromEnv) result = { token: fromEnv, source: "env" };
  else if (config.repository.token_file) result = { token: readTokenFile(config.repository.token_file, config.file), source: "token_file" };
  else if (config.repository.token) {
    const v = config.repository.token;
    registerSecret(v);
    result = { token: v.startsWith(PREFIX) ? decryptToken(v, keyFile) : v, source: "config" };
  }
  registerSecret(result.token);
  return result;
}

export function isEncrypted(value: string | undefined): boolean {
  return value?.startsWith(PREFIX) ?? false;
}

/** Rewrite the config with the token encrypted, keeping comments and every other key; mode 0600. */
export function setTokenInConfig(configFile: string, token: string, keyFile: string): void {
  registerSecret(token);
  const text = readFileSync(configFile, "utf8");
  parseConfig(text, configFile); // refuse to rewrite a config that does not load
  const doc = parseDocument(text);
  doc.setIn(["repository", "token"], encryptToken(token, keyFile));
  writeFileAtomic(configFile, doc.toString(), 0o600);
}
