// /etc/konta/config.yaml: field names kept from the original Go Konta (DESIGN section 2).
// Unknown keys, wrong types and missing required fields are errors naming the key and the file
// (lib/config/parse.ts).
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InputError } from "../base/errors.ts";
import { ensureDir, writeFileAtomic } from "../base/fsutil.ts";
import { log } from "../base/log.ts";
import type { KontaConfig } from "./types.ts";
import { encryptToken, isEncrypted } from "./token.ts";

/**
 * The file controls what runs as root: refuse one that others may write, and one that others may
 * read while it holds a token.
 */
export function checkConfigPermissions(file: string, holdsToken: boolean): void {
  const st = statSync(file);
  const mode = st.mode & 0o777;
  if (mode & 0o022) {
    throw new InputError(`${file} is writable by group or others (mode ${mode.toString(8)}); it decides what runs as root`, {
      hint: `run: chmod 600 ${file}`,
    });
  }
  if (holdsToken && mode & 0o044) {
    throw new InputError(`${file} holds a token and is readable by group or others (mode ${mode.toString(8)})`, {
      hint: `run: chmod 600 ${file}`,
    });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new InputError(`${file} is owned by uid ${st.uid}, not by root or the user running Konta`, {
      hint: `run: chown root:root ${file}`,
    });
  }
}

export interface ConfigCache {
  /** where the validated config is kept between runs */
  file: string;
  /** identifies the build whose validation the cache holds */
  build: string;
  /** the state key: a plain-text token from the config is kept encrypted in the cache */
  keyFile: string;
}

interface CacheDoc {
  key: string;
  config: KontaConfig;
  /** the config's token was plain text; the cached one is encrypted with keyFile */
  sealed?: boolean;
}

/**
 * Read, validate and check the config. With a cache, a config whose bytes were validated by this
 * build before is taken from it: YAML parsing and schema validation cost a timer run more memory
 * than the rest of an idle tick.
 */
export async function loadConfig(path: string, cache?: ConfigCache): Promise<KontaConfig> {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new InputError(`no configuration at ${file}`, {
      hint: "run `konta install --repo <url>` to write one, or pass --config <file>",
    });
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`, { hint: "run Konta as root (sudo konta ...)" });
  }
  const key = new Bun.CryptoHasher("sha256").update(`${cache?.build}\0${file}\0${text}`).digest("hex");
  let config = cache ? readCache(cache, key) : undefined;
  if (!config) {
    const { parseConfig } = await import("./parse.ts");
    config = parseConfig(text, file);
    // once per change of the file (idle ticks read the cache): `konta status` repeats them
    for (const w of config.warnings) log.warn(w);
    // the first run creates the state dir (0700) if its parent exists, so the second reads the cache
    if (cache && existsSync(dirname(dirname(cache.file)))) {
      ensureDir(dirname(cache.file), 0o700);
      await writeCache(cache, key, config);
    }
  }
  checkConfigPermissions(file, config.repository.token !== undefined || config.webhook !== undefined);
  return config;
}

function readCache(cache: ConfigCache, key: string): KontaConfig | undefined {
  try {
    const doc = JSON.parse(readFileSync(cache.file, "utf8")) as Partial<CacheDoc>;
    if (doc.key !== key || !doc.config || (doc.sealed && !existsSync(cache.keyFile))) return undefined;
    return doc.config;
  } catch {
    return undefined; // missing or damaged: parse the config again
  }
}

async function writeCache(cache: ConfigCache, key: string, config: KontaConfig): Promise<void> {
  const token = config.repository.token;
  const sealed = token !== undefined && !isEncrypted(token);
  const stored = sealed ? { ...config, repository: { ...config.repository, token: await encryptToken(token, cache.keyFile) } } : config;
  const doc: CacheDoc = { key, config: stored, ...(sealed ? { sealed } : {}) };
  writeFileAtomic(cache.file, JSON.stringify(doc), 0o600);
}
