// What a project takes from the host besides the release: its host env file and the process
// variables passed through. Kept apart from the loader: an idle tick compares a digest of it.
import { join } from "node:path";
import { InputError } from "../base/errors.ts";
import type { LoadOptions } from "./options.ts";
import { envVar, exists, fileMode, readText } from "./inputs.ts";

export function passthroughVars(opts: LoadOptions): Record<string, string> {
  const processEnv = opts.processEnv ?? process.env;
  const out: Record<string, string> = {};
  for (const name of opts.passthrough ?? []) {
    const v = envVar(processEnv, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** The host-side `<project>.env`, when there is one (refused when others can read it). */
export function hostEnvFile(project: string, opts: LoadOptions): string | undefined {
  if (!opts.hostEnvDir) return undefined;
  const file = join(opts.hostEnvDir, `${project}.env`);
  if (!exists(file)) return undefined;
  const mode = fileMode(file) & 0o777;
  if (mode & 0o044) {
    throw new InputError(`${file} holds secrets and is readable by group or others (mode ${mode.toString(8)})`, { hint: `run: chmod 600 ${file}` });
  }
  return file;
}

export const digestHostInputs = (hostText: string, passthrough: Record<string, string>) =>
  new Bun.CryptoHasher("sha256").update(hostText).update(JSON.stringify(passthrough)).digest("hex").slice(0, 16);

/** A digest of what a project takes from the host (its host env file, the passed-through variables): an idle tick compares it. */
export function hostInputs(project: string, opts: LoadOptions): string {
  const file = hostEnvFile(project, opts);
  return digestHostInputs(file ? readText(file) : "", passthroughVars(opts));
}
