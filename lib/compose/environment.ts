// The variables a project's Compose files are interpolated with, and a digest of the host-side
// inputs among them. Kept apart from the loader: an idle tick needs the digest, not the loader.
import { join, relative } from "node:path";
import { InputError } from "../errors.ts";
import { DotenvError, parseDotenv } from "./dotenv.ts";
import { envVar, exists, fileMode, readText, realpath } from "./inputs.ts";
import type { Lookup } from "./interpolate.ts";
import type { ProjectCacheOptions } from "./cache.ts";
import type { HostPolicy } from "./policy.ts";
import { isInside } from "./paths.ts";

export interface LoadOptions {
  /** the release (checkout root): relative paths may not leave it */
  repoRoot: string;
  /** folder with host-side `<project>.env` files (`<config dir>/env`); optional */
  hostEnvDir?: string;
  /** process environment variables Compose files may use */
  passthrough?: string[];
  profiles?: string[];
  policy?: HostPolicy;
  /** keep loaded projects between runs (cache.ts) */
  cache?: ProjectCacheOptions;
  /** process environment (tests inject one) */
  processEnv?: Record<string, string | undefined>;
}

/** Variables for interpolation, lowest first: the project's .env, the host env file, allowed process variables. */
export function projectEnvironment(project: string, dir: string, opts: LoadOptions): { lookup: Lookup; hostInputs: string } {
  const processEnv = opts.processEnv ?? process.env;
  const passthrough: Record<string, string> = {};
  for (const name of opts.passthrough ?? []) {
    const v = envVar(processEnv, name);
    if (v !== undefined) passthrough[name] = v;
  }
  const vars: Record<string, string | undefined> = { COMPOSE_PROJECT_NAME: project };
  const layer = (file: string, label: string) => {
    if (!exists(file)) return "";
    const text = readText(file);
    try {
      Object.assign(vars, parseDotenv(text, (name) => vars[name] ?? passthrough[name]));
    } catch (err) {
      if (err instanceof DotenvError) throw new InputError(`${label}: ${err.message}`, { where: file });
      throw err;
    }
    return text;
  };
  const dotenv = join(dir, ".env");
  if (exists(dotenv)) checkInside(dotenv, opts.repoRoot, relative(opts.repoRoot, dotenv));
  layer(dotenv, relative(opts.repoRoot, dotenv));
  let hostText = "";
  if (opts.hostEnvDir) {
    const hostFile = join(opts.hostEnvDir, `${project}.env`);
    if (exists(hostFile)) {
      const mode = fileMode(hostFile) & 0o777;
      if (mode & 0o044) {
        throw new InputError(`${hostFile} holds secrets and is readable by group or others (mode ${mode.toString(8)})`, {
          hint: `run: chmod 600 ${hostFile}`,
        });
      }
      hostText = layer(hostFile, hostFile);
    }
  }
  Object.assign(vars, passthrough);
  const hostInputs = new Bun.CryptoHasher("sha256").update(hostText).update(JSON.stringify(passthrough)).digest("hex").slice(0, 16);
  return { lookup: (name) => vars[name], hostInputs };
}

export function checkInside(file: string, repoRoot: string, label: string): void {
  if (!isInside(realpath(repoRoot), realpath(file))) {
    throw new InputError(`${label} is a symlink that leads outside the repository; refused`, { where: file });
  }
}
