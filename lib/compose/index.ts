// The Compose loader: a project folder in a release -> a ProjectModel. Pure (no Docker calls).
// Per file: parse -> interpolate -> refuse unsupported keys -> validate (schema) -> canonical forms
// -> resolve `extends`; then merge the files, apply profiles and normalise.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { dirname, join, relative, resolve } from "node:path";
import { InputError } from "../base/errors.ts";
import validateCompose from "../generated/compose-validator.js";
import { keyPath, assertValid } from "../base/schema.ts";
import { parseYaml, type ParsedYaml } from "../base/yaml.ts";
import { ProjectCache } from "./cache.ts";
import { canonicalFile, type Raw } from "./canonical.ts";
import { envFileVars, unlocking } from "./decrypt.ts";
import { checkInside, projectEnvironment } from "./environment.ts";
import type { LoadOptions } from "./options.ts";
import { ComposeKeyError, type KeyPath, UnfetchedSecrets } from "./errors.ts";
import { providerOf, secretReferences } from "./extension.ts";
import { type Include, importResources, parseIncludes } from "./include.ts";
import { exists, isDirectory, listDir, readText, realpath, usesSecret } from "./inputs.ts";
import { InterpolationError, interpolateTree, type Lookup } from "./interpolate.ts";
import { mergeFiles, mergeService } from "./merge.ts";
import type { ProjectModel } from "./model.ts";
import { Normalizer } from "./normalize.ts";
import { isInside } from "../base/fsutil.ts";
import { PathEscapeError, resolveComposePath } from "./paths.ts";
import { UNSUPPORTED } from "./schema.ts";

export type { ProjectModel, ServiceModel } from "./model.ts";
export { projectEnvironment } from "./environment.ts";
export type { LoadOptions } from "./options.ts";
export { SopsKeyring } from "./keyring.ts";
export { serviceHash } from "./hash.ts";

// compose-go's cli DefaultFileNames and DefaultOverrideFileNames, in its order of preference
export const COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"] as const;
const OVERRIDE_FILE_NAMES = ["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"] as const;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The Compose files of a folder as `docker compose` picks them without -f: the first main file
 * and the first override file, each in compose-go's order; undefined when the folder has none.
 */
export function findComposeFiles(dir: string): { files: string[]; ignored: string[] } | undefined {
  const present = COMPOSE_FILE_NAMES.filter((f) => exists(join(dir, f)));
  const main = present[0];
  if (!main) return undefined;
  const overrides = OVERRIDE_FILE_NAMES.filter((f) => exists(join(dir, f)));
  return { files: overrides[0] ? [main, overrides[0]] : [main], ignored: [...present.slice(1), ...overrides.slice(1)] };
}

/** A folder whose .env names its Compose files (COMPOSE_FILE), as `docker compose` reads it there. */
function setsComposeFile(dir: string): boolean {
  const dotenv = join(dir, ".env");
  return exists(dotenv) && !isDirectory(dotenv) && /^\s*(export\s+)?COMPOSE_FILE\s*=/m.test(readText(dotenv));
}

/** Folders of apps/ holding a Compose file: the projects of a release. */
export function listProjects(appsDir: string, repoRoot = dirname(appsDir)): string[] {
  if (!exists(appsDir)) return [];
  const names: string[] = [];
  const bad: string[] = [];
  for (const entry of listDir(appsDir)) {
    const full = join(appsDir, entry.name);
    const link = entry.isSymbolicLink() && exists(full);
    // a link to another app folder is fine; one out of the release could deploy anything on the host
    if (link && !isInside(realpath(repoRoot), realpath(full))) {
      throw new InputError(`apps/${entry.name} is a symlink that leads outside the repository; refused`, { where: full });
    }
    if (!entry.isDirectory() && !(link && isDirectory(full))) continue;
    if (!findComposeFiles(full) && !setsComposeFile(full)) continue;
    if (PROJECT_NAME.test(entry.name)) names.push(entry.name);
    else bad.push(JSON.stringify(entry.name));
  }
  if (bad.length) {
    throw new InputError(`apps/ has folders whose names cannot be Compose project names: ${bad.join(", ")}`, {
      hint: "rename them to lowercase letters, digits, '-' and '_', starting with a letter or digit",
      where: appsDir,
    });
  }
  return names.sort();
}

interface LoadedFile {
  abs: string;
  rel: string;
  yaml: ParsedYaml;
  canonical: Raw;
}

/** How Compose files are read: as the project's own, or as an included project's. */
interface Scope {
  lookup: Lookup;
  /** relative paths in a file resolve against this folder; undefined: the file's own folder */
  dir?: string;
  /** the folder `include` paths and env files resolve against */
  workDir: string;
  /** tells apart loads of one file with different variables */
  key: string;
}

class ProjectLoader {
  private readonly files = new Map<string, LoadedFile>();
  readonly warnings = new Set<string>();
  private readonly unset = new Set<string>();
  private root: Scope;
  /** x-konta.secrets: the digest of this project's values (ManagedSecrets.digest) */
  secretsDigest?: string;

  constructor(
    readonly project: string,
    readonly dir: string,
    readonly opts: LoadOptions,
    lookup: Lookup,
  ) {
    this.root = { lookup, workDir: dir, key: "" };
  }

  rel(abs: string): string {
    return relative(this.opts.repoRoot, abs) || ".";
  }

  fail(message: string, file: LoadedFile | string, path: KeyPath = [], unknown?: string): never {
    const f = typeof file === "string" ? undefined : file;
    const name = typeof file === "string" ? file : file.rel;
    let line: number | undefined;
    for (let n = path.length; n >= 0 && line === undefined && f; n--) line = f.yaml.lineOf(path.slice(0, n));
    const where = `${name}${line ? `:${line}` : ""}`;
    throw new InputError(path.length ? `${where}: ${keyPath(path)}: ${message}` : `${where}: ${message}`, { where: name, ...(unknown ? { unknown } : {}) });
  }

  load(abs: string, scope: Scope): LoadedFile {
    const id = `${scope.key}\0${scope.dir ?? ""}\0${abs}`;
    const cached = this.files.get(id);
    if (cached) return cached;
    const rel = this.rel(abs);
    if (!exists(abs)) this.fail("file does not exist", rel);
    if (isDirectory(abs)) this.fail("is a folder, not a Compose file", rel);
    checkInside(abs, this.opts.repoRoot, rel);
    const yaml = parseYaml(readText(abs), rel);
    const partial: LoadedFile = { abs, rel, yaml, canonical: {} };
    if (yaml.value === null || yaml.value === undefined) {
      this.files.set(id, partial);
      return partial;
    }
    if (typeof yaml.value !== "object" || Array.isArray(yaml.value)) this.fail("a Compose file must be a mapping", partial);
    const interpolated = interpolateTree(yaml.value, scope.lookup, { onUnset: (n) => this.unset.add(n), standIn: this.opts.standIn }, [], (err: InterpolationError, path) =>
      this.fail(
        err.variable
          ? `${err.message} (define ${err.variable} in ${this.rel(join(this.dir, ".env"))}, in the host file <config dir>/env/${this.project}.env, or allow it with deploy.env_passthrough)`
          : err.message,
        partial,
        path,
        err.variable ? `variable ${err.variable}` : undefined,
      ),
    ) as Raw;
    this.checkUnsupported(interpolated, partial);
    assertValid(validateCompose, interpolated, { file: rel, yaml }, "Compose file");
    try {
      partial.canonical = canonicalFile(interpolated, { dir: scope.dir ?? dirname(abs), repoRoot: this.opts.repoRoot });
    } catch (err) {
      this.rethrow(err, partial, scope);
    }
    this.files.set(id, partial);
    return partial;
  }

  rethrow(err: unknown, file: LoadedFile, scope = this.root): never {
    if (err instanceof ComposeKeyError) this.fail(err.message, err.file ? this.load(err.file, scope) : file, err.path, err.unknown);
    if (err instanceof PathEscapeError) this.fail(err.message, file);
    throw err;
  }

  private checkUnsupported(raw: Raw, file: LoadedFile): void {
    for (const [key, why] of Object.entries(UNSUPPORTED)) {
      const parts = key.split(".");
      if (parts[0] !== "services") {
        if (raw[key] !== undefined) this.fail(`not supported by Konta: ${why}`, file, [key]);
        continue;
      }
      for (const [name, svc] of Object.entries((raw.services ?? {}) as Raw)) {
        const k = parts[2] as string;
        if (svc && typeof svc === "object" && svc[k] !== undefined) this.fail(`not supported by Konta: ${why}`, file, ["services", name, k]);
      }
    }
    if (raw.version !== undefined) this.warnings.add(`${file.rel}: the top-level "version" key is obsolete and ignored`);
  }

  /** A service with its `extends` chain resolved. */
  resolveService(abs: string, name: string, trail: string[], scope: Scope): Raw {
    const file = this.load(abs, scope);
    const svc = file.canonical.services?.[name];
    if (!svc) this.fail(`extends: service "${name}" not found`, file, ["services"]);
    if (!svc.extends) return svc;
    const id = `${file.rel}#${name}`;
    if (trail.includes(id)) this.fail(`circular extends: ${[...trail, id].join(" -> ")}`, file, ["services", name, "extends"]);
    let target = abs;
    if (svc.extends.file) {
      try {
        target = resolveComposePath(svc.extends.file, dirname(abs), this.opts.repoRoot).path;
      } catch (err) {
        this.fail((err as Error).message, file, ["services", name, "extends", "file"]);
      }
    }
    // another file's paths resolve against its own folder, as Compose resolves them
    const base = this.resolveService(target, svc.extends.service, [...trail, id], target === abs ? scope : { ...scope, dir: undefined });
    const { extends: _ext, ...rest } = svc;
    return mergeService(base, rest);
  }

  /** Files merged in order (the first the main one), each with its `extends` resolved and its includes imported. */
  private loadFiles(abses: string[], scope: Scope, chain: string[], loaded: LoadedFile[]): Raw {
    let merged: Raw = {};
    for (const abs of abses) {
      const file = this.load(abs, scope);
      const { include, ...own } = file.canonical;
      if (own.services) own.services = Object.fromEntries(Object.keys(own.services).map((n) => [n, this.resolveService(abs, n, [], scope)]));
      const model = include ? this.include(file, include, own, scope, [...chain, abs], loaded) : own;
      loaded.push(file);
      merged = mergeFiles(merged, model, [...file.yaml.tagged.reset, ...file.yaml.tagged.override]);
    }
    return merged;
  }

  /** `own` (a file's model) with what its `include` entries define imported. */
  private include(file: LoadedFile, entries: unknown[], own: Raw, scope: Scope, chain: string[], loaded: LoadedFile[]): Raw {
    let includes: Include[] = [];
    try {
      includes = parseIncludes(entries, scope.workDir, this.opts.repoRoot);
    } catch (err) {
      this.rethrow(err, file, scope);
    }
    let model = own;
    includes.forEach((inc, i) => {
      const main = inc.paths[0] as string;
      if (chain.includes(main)) this.fail(`include cycle: ${[...chain, main].map((f) => this.rel(f)).join(" -> ")}`, file, ["include", i]);
      const vars: Record<string, string> = Object.create(null);
      for (const f of inc.envFiles) {
        if (!exists(f) || isDirectory(f)) this.fail(`env file ${this.rel(f)} does not exist`, file, ["include", i]);
        Object.assign(vars, envFileVars(f, readText(f), this.rel(f), this.opts.sops, (n) => scope.lookup(n) ?? vars[n]));
      }
      // the including project's variables win over the included one's env files, as in Compose
      const lookup: Lookup = (n) => scope.lookup(n) ?? vars[n];
      const sub: Scope = { lookup, dir: inc.projectDirectory, workDir: inc.projectDirectory, key: `${scope.key}>${file.abs}#${i}` };
      const imported = this.loadFiles(inc.paths, sub, chain, loaded);
      try {
        model = importResources(model, imported, own, ["include", i]);
      } catch (err) {
        this.rethrow(err, file, scope);
      }
    });
    return model;
  }

  loadProject(fileNames: string[]): ProjectModel {
    this.managedVariables(fileNames);
    const loaded: LoadedFile[] = [];
    const merged = this.loadFiles(fileNames.map((f) => join(this.dir, f)), this.root, [], loaded);
    const main = this.load(join(this.dir, fileNames[0] as string), this.root);
    // Compose refuses a project that defines nothing at all (`services: {}` is something)
    if (!Object.keys(merged).length) this.fail(`empty compose file: ${fileNames.join(", ")} define${fileNames.length > 1 ? "" : "s"} nothing`, main);
    if (typeof merged.name === "string" && merged.name !== this.project) {
      this.warnings.add(`${main.rel}: name "${merged.name}" is ignored; the project is named after its folder: ${this.project}`);
    }
    merged.services = this.applyProfiles(merged.services ?? {});
    for (const n of [...this.unset].sort()) this.warnings.add(`${this.rel(this.dir)}: variable ${n} is not set; using an empty string`);

    const normalizer = new Normalizer(merged, {
      project: this.project,
      dir: this.dir,
      repoRoot: this.opts.repoRoot,
      env: this.root.lookup,
      ...(this.opts.standIn ? { standIn: this.opts.standIn } : {}),
      policy: this.opts.policy ?? { allowPrivileged: true },
      warn: (m) => this.warnings.add(`${this.rel(this.dir)}: ${m}`),
      ...(this.opts.sops ? { sops: this.opts.sops } : {}),
    });
    let model: ProjectModel;
    try {
      model = normalizer.project(fileNames);
    } catch (err) {
      const e = err as ComposeKeyError;
      // report the error in the last file that defines the key (override files win)
      const owner = e instanceof ComposeKeyError ? ([...loaded].reverse().find((f) => f.yaml.lineOf(e.path.slice(0, 2)) !== undefined) ?? main) : main;
      this.rethrow(err, owner);
    }
    model.warnings = [...this.warnings];
    const included = [...new Set(loaded.map((f) => relative(this.dir, f.abs)))].filter((f) => !fileNames.includes(f));
    if (included.length) model.included = included;
    return model;
  }

  /**
   * x-konta.secrets of the project's own files, read before they are interpolated (their values are
   * variables of that interpolation, at the level of the server's env file and above it): each
   * provider checked against the server's, each value taken from what this run fetched, or stood in
   * for (`konta check`); references not fetched yet end the load with UnfetchedSecrets.
   */
  private managedVariables(fileNames: string[]): void {
    const refs: Record<string, string> = {};
    const defined = new Map<string, LoadedFile>();
    for (const f of fileNames) {
      const abs = join(this.dir, f);
      if (!exists(abs) || isDirectory(abs)) continue; // load() says what is wrong with it
      const text = readText(abs);
      if (!text.includes("x-konta")) continue;
      const file: LoadedFile = { abs, rel: this.rel(abs), yaml: parseYaml(text, this.rel(abs)), canonical: {} };
      const top = file.yaml.value as Raw | null;
      const ext = top && typeof top === "object" ? top["x-konta"] : undefined;
      try {
        for (const [name, ref] of Object.entries(secretReferences(ext && typeof ext === "object" ? ext.secrets : undefined) ?? {})) {
          refs[name] = ref;
          defined.set(name, file);
        }
      } catch (err) {
        this.rethrow(err, file);
      }
    }
    const names = Object.keys(refs);
    if (!names.length) return;
    const m = this.opts.managed;
    const first = defined.get(names[0] as string) as LoadedFile;
    if (!m) this.fail("x-konta.secrets cannot be fetched by this command", first, ["x-konta", "secrets"]);
    for (const name of names) {
      const provider = providerOf(refs[name] as string);
      if (m.providers && !m.providers.includes(provider)) {
        const known = m.providers.length ? `it has: ${m.providers.join(", ")}` : "it has none";
        this.fail(`provider "${provider}" is not configured on this server (secrets.providers in its config; ${known})`, defined.get(name) as LoadedFile, ["x-konta", "secrets", name]);
      }
    }
    const vars: Record<string, string> = Object.create(null);
    if (m.fetch) {
      const missing = [...new Set(Object.values(refs))].filter((r) => !m.values.has(r));
      if (missing.length) throw new UnfetchedSecrets(missing);
      for (const name of names) {
        usesSecret(refs[name] as string);
        vars[name] = m.values.get(refs[name] as string) as string;
      }
      this.secretsDigest = m.digest(vars);
    } else {
      for (const name of names) vars[name] = `konta-check-stand-in-${name.toLowerCase()}`;
    }
    const base = this.root.lookup;
    this.root = { ...this.root, lookup: (n) => vars[n] ?? base(n) };
  }

  private applyProfiles(services: Raw): Raw {
    const enabled = new Set([...(this.opts.profiles ?? []), ...(this.root.lookup("COMPOSE_PROFILES") ?? "").split(",").filter(Boolean)]);
    const all = enabled.has("*");
    return Object.fromEntries(
      Object.entries(services).filter(([, s]) => !s.profiles?.length || all || s.profiles.some((p: string) => enabled.has(p))),
    );
  }
}

/**
 * A key of a loaded project that a target cannot apply (its rules run after the load, where the
 * target is known), as the loader words its own errors: the last Compose file that defines the
 * service, the line, the key. The files are read again: this is the error path only.
 */
export function refuseKey(project: ProjectModel, repoRoot: string, err: ComposeKeyError, hint?: string): InputError {
  // included files first: a key the project's own files define again is theirs
  const files = [...(project.included ?? []), ...project.files].map((f) => {
    const abs = join(project.dir, f);
    const rel = relative(repoRoot, abs);
    return { rel, yaml: exists(abs) ? parseYaml(readText(abs), rel) : undefined };
  });
  const owner = [...files].reverse().find((f) => f.yaml?.lineOf(err.path.slice(0, 2)) !== undefined) ?? files[project.included?.length ?? 0];
  let line: number | undefined;
  for (let n = err.path.length; n > 0 && line === undefined; n--) line = owner?.yaml?.lineOf(err.path.slice(0, n));
  const where = `${owner?.rel ?? relative(repoRoot, project.dir)}${line ? `:${line}` : ""}`;
  return new InputError(`${where}: ${keyPath(err.path)}: ${err.message}`, { where: owner?.rel ?? project.dir, ...(hint ? { hint } : {}) });
}

/** Load one project folder (apps/<name>) of a release. */
export function loadProject(dir: string, name: string, opts: LoadOptions): LoadedProject {
  const { lookup, hostInputs, warnings } = projectEnvironment(name, dir, opts);
  const loader = new ProjectLoader(name, resolve(dir), opts, lookup);
  for (const w of warnings) loader.warnings.add(`${loader.rel(dir)}: ${w}`);
  // COMPOSE_FILE (from .env, the host env file or a passed-through variable) as Compose reads it
  const listed = lookup("COMPOSE_FILE");
  let files: string[];
  if (listed) {
    files = listed.split(lookup("COMPOSE_PATH_SEPARATOR") || ":").filter(Boolean);
  } else {
    const found = findComposeFiles(dir);
    if (!found) throw new InputError(`${relative(opts.repoRoot, dir)} has no Compose file (${COMPOSE_FILE_NAMES.join(", ")}, or COMPOSE_FILE in its .env)`);
    for (const f of found.ignored) loader.warnings.add(`${loader.rel(join(dir, f))} is ignored: ${found.files.join(" and ")} take precedence, as with docker compose`);
    files = found.files;
  }
  const model = loader.loadProject(files);
  return { ...model, hostInputs, ...(loader.secretsDigest ? { secretsDigest: loader.secretsDigest } : {}) };
}

/** A loaded project: the model, the digest of what it takes from the host, and of the values of its x-konta.secrets. */
export type LoadedProject = ProjectModel & { hostInputs: string; secretsDigest?: string };

/**
 * Every project of a release (apps/<name>/ folders holding a Compose file), and every refusal:
 * each project is loaded whatever another one's answer, so a person sees all that is wrong at once.
 */
export function loadReleaseChecked(releaseRoot: string, opts: LoadOptions): { projects: LoadedProject[]; refusals: InputError[] } {
  const appsDir = join(releaseRoot, "apps");
  if (!exists(appsDir)) {
    throw new InputError(`the release has no apps/ folder at ${relative(opts.repoRoot, appsDir) || "apps"}`, {
      hint: "put each Compose project in apps/<name>/ (check repository.path in the config)",
    });
  }
  checkInside(appsDir, opts.repoRoot, "apps/");
  const names = listProjects(appsDir, opts.repoRoot);
  const cache = opts.cache ? ProjectCache.open(opts.cache, opts) : undefined;
  const projects: LoadedProject[] = [];
  const refusals: InputError[] = [];
  const unfetched = new Set<string>();
  for (const name of names) {
    const load = () => loadProject(join(appsDir, name), name, opts);
    try {
      projects.push(cache ? cache.load(name, load) : load());
    } catch (err) {
      // every project's references are gathered, so that they are fetched at once
      if (err instanceof UnfetchedSecrets) {
        for (const r of err.refs) unfetched.add(r);
        continue;
      }
      // a locked SOPS file asks `unlocking` for its key; anything else that is not a refusal is a bug
      if (!(err instanceof InputError)) throw err;
      refusals.push(err);
    }
  }
  if (unfetched.size && !refusals.length) throw new UnfetchedSecrets([...unfetched]);
  if (!refusals.length) cache?.save(names);
  return { projects, refusals };
}

/** Refusals as one error: each on its own line, as the loader words it (file:line: key: what). */
export function refused(refusals: InputError[], hint?: string): InputError {
  if (refusals.length === 1) return refusals[0] as InputError;
  return new InputError(refusals.map((r) => r.message).join("\n"), { where: refusals[0]?.where, hint: hint ?? refusals.find((r) => r.hint)?.hint });
}

/**
 * Every project of a release. One bad project fails the whole release, so a bad commit never
 * half-deploys; the error names every refusal.
 */
export function loadRelease(releaseRoot: string, opts: LoadOptions): LoadedProject[] {
  const { projects, refusals } = loadReleaseChecked(releaseRoot, opts);
  if (refusals.length) throw refused(refusals);
  return projects;
}

/**
 * loadRelease, unlocking the data key of each SOPS-encrypted file it meets (decrypt.ts) and fetching
 * the secret managers' values its projects refer to (all of them, once), then loading again.
 */
export async function loadReleaseUnlocking(releaseRoot: string, opts: LoadOptions): Promise<LoadedProject[]> {
  for (;;) {
    try {
      return await unlocking(opts.sops, () => loadRelease(releaseRoot, opts));
    } catch (err) {
      if (!(err instanceof UnfetchedSecrets) || !opts.managed?.fetch) throw err;
      await opts.managed.fetch(err.refs);
      const still = err.refs.filter((r) => !opts.managed?.values.has(r));
      if (still.length) throw new Error(`secret manager: no value for ${still.join(", ")} after fetching it`);
    }
  }
}
