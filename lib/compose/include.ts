// `include` (Compose 2.20+): each entry names Compose files that load as a project of their own
// (relative paths against its project directory: the first file's folder unless
// `project_directory`; variables from the including project first, then its `env_file`, or the
// project directory's .env) whose services, networks, volumes, secrets and configs are imported
// into the including file. What both define must be the same definition, as Compose rules.
// Only files of the repository: a remote include would deploy what no commit holds.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { dirname, isAbsolute, resolve } from "node:path";
import { canonicalJson } from "../base/digest.ts";
import { isInside } from "../base/fsutil.ts";
import { redact } from "../base/redact.ts";
import type { Raw } from "./canonical.ts";
import { ComposeKeyError, type KeyPath } from "./errors.ts";
import { exists, isDirectory, realpath } from "./inputs.ts";
import { realpathLoose } from "./paths.ts";

export interface Include {
  /** the main file first, then the files merged onto it; absolute */
  paths: string[];
  projectDirectory: string;
  /** absolute; when none is given, the project directory's .env if there is one */
  envFiles: string[];
}

const IMPORTED = ["services", "networks", "volumes", "secrets", "configs"] as const;

/** A git URL or an OCI reference, as Compose's remote loaders take them. */
function isRemote(p: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(p) || p.startsWith("git@");
}

/** `p` against `base`, refused unless it stays inside the repository (symlinks followed). */
function inside(p: string, base: string, repoRoot: string, what: string, path: KeyPath): string {
  if (!p) throw new ComposeKeyError(`${what} is empty`, path);
  if (isRemote(p)) {
    throw new ComposeKeyError(`${what} "${redact(p)}" is remote; Konta deploys only what the repository holds (copy the file into it)`, path);
  }
  const abs = isAbsolute(p) ? resolve(p) : resolve(base, p);
  if (!isInside(repoRoot, abs) || !isInside(realpath(repoRoot), realpathLoose(abs))) {
    throw new ComposeKeyError(`${what} "${p}" leads outside the repository (via "..", an absolute path or a symlink); only files of the repository can be included`, path);
  }
  return abs;
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** The `include` entries of a file (shapes checked by the schema), paths resolved against `workDir`. */
export function parseIncludes(raw: unknown[], workDir: string, repoRoot: string): Include[] {
  return raw.map((entry, i) => {
    const e: Raw = typeof entry === "string" ? { path: entry } : (entry as Raw);
    const at: KeyPath = typeof entry === "string" ? ["include", i] : ["include", i, "path"];
    const paths = list(e.path).map((p) => inside(p, workDir, repoRoot, "include path", at));
    if (!paths.length) throw new ComposeKeyError("an include entry needs a path", at);
    const projectDirectory =
      e.project_directory === undefined ? dirname(paths[0] as string) : inside(String(e.project_directory), workDir, repoRoot, "project_directory", ["include", i, "project_directory"]);
    let envFiles = list(e.env_file).map((f) => inside(f, workDir, repoRoot, "env_file", ["include", i, "env_file"]));
    if (!envFiles.length) {
      const dotenv = resolve(projectDirectory, ".env");
      if (exists(dotenv) && !isDirectory(dotenv)) envFiles = [dotenv];
    }
    return { paths, projectDirectory, envFiles };
  });
}

/**
 * `imported` (an included project, merged) into `target` (the including file's model with what
 * it included before) by resource: a name both define must have the same definition (Compose:
 * "conflicts with imported resource"). The error points at the file's own definition (`own`),
 * else at the include entry `at`.
 */
export function importResources(target: Raw, imported: Raw, own: Raw, at: KeyPath): Raw {
  const out: Raw = { ...target };
  for (const kind of IMPORTED) {
    const from = imported[kind] as Raw | undefined;
    if (!from) continue;
    for (const [name, def] of Object.entries(from)) {
      const there = (target[kind] as Raw | undefined)?.[name];
      if (there !== undefined && canonicalJson(there) !== canonicalJson(def)) {
        const path = own[kind]?.[name] !== undefined ? [kind, name] : at;
        throw new ComposeKeyError(`${kind}.${name} conflicts with imported resource (what an included file defines can be defined again only identically)`, path);
      }
    }
    out[kind] = { ...from, ...(target[kind] ?? {}) };
  }
  return out;
}
