// The variables a project's Compose files are interpolated with: its .env (decrypted when it is a
// SOPS file), the host env file, allowed process variables.
import { join, relative } from "node:path";
import { InputError } from "../base/errors.ts";
import { envFileVars } from "./decrypt.ts";
import { digestHostInputs, hostEnvFile, passthroughVars } from "./host-inputs.ts";
import { exists, readText, realpath } from "./inputs.ts";
import type { Lookup } from "./interpolate.ts";
import type { LoadOptions } from "./options.ts";
import { isInside } from "../base/fsutil.ts";

/** Variables for interpolation, lowest first: the project's .env, the host env file, allowed process variables. */
export function projectEnvironment(project: string, dir: string, opts: LoadOptions): { lookup: Lookup; hostInputs: string; warnings: string[] } {
  const passthrough = passthroughVars(opts);
  // no prototype: a variable may be called "constructor" or "__proto__"
  const vars: Record<string, string | undefined> = Object.assign(Object.create(null), { COMPOSE_PROJECT_NAME: project });
  const layer = (file: string, label: string) => {
    const text = readText(file);
    // the process environment (here: the passed-through variables), then earlier files, then the
    // file's own lines: Compose's order for .env and --env-file
    Object.assign(vars, envFileVars(file, text, label, opts.sops, (name) => passthrough[name] ?? vars[name]));
    return text;
  };
  const dotenv = join(dir, ".env");
  if (exists(dotenv)) {
    checkInside(dotenv, opts.repoRoot, relative(opts.repoRoot, dotenv));
    layer(dotenv, relative(opts.repoRoot, dotenv));
  }
  const hostFile = hostEnvFile(project, opts);
  const hostText = hostFile ? layer(hostFile, hostFile) : "";
  Object.assign(vars, passthrough);
  const warnings: string[] = [];
  // a project is named after its folder (its containers, networks and volumes carry that name)
  if (vars.COMPOSE_PROJECT_NAME !== project) {
    warnings.push(`COMPOSE_PROJECT_NAME=${vars.COMPOSE_PROJECT_NAME} is ignored; the project is named after its folder: ${project}`);
    vars.COMPOSE_PROJECT_NAME = project;
  }
  return { lookup: (name) => vars[name], hostInputs: digestHostInputs(hostText, passthrough), warnings };
}

export function checkInside(file: string, repoRoot: string, label: string): void {
  if (!isInside(realpath(repoRoot), realpath(file))) {
    throw new InputError(`${label} is a symlink that leads outside the repository; refused`, { where: file });
  }
}
