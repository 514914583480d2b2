// `konta check [PATH]`: what a sync would refuse, found in a working tree of the infrastructure
// repository, before the merge: no Git server, no engine, no token, no root. Every project goes
// through the loader a sync runs (env files, include, extends, interpolation, the config's
// restrictions) and the target's own rules (the Target port's validate, which a sync's prepare
// runs too); every refusal is reported, not only the first. What only the server has (its env
// files, the variables it passes through, the key of SOPS files, external networks and volumes)
// is unknown here: a note, not a refusal, unless `strict`.
import { dirname, join, resolve } from "node:path";
import { InputError } from "../base/errors.ts";
import { tmpdir } from "node:os";
import { type LoadedProject, type LoadOptions, loadReleaseChecked, SopsKeyring } from "../compose/index.ts";
import { ManagedSecrets } from "../compose/managed.ts";
import { unlocking } from "../compose/decrypt.ts";
import type { KontaConfig } from "../config/types.ts";
import { type TargetName, TARGETS, targetOf } from "../targets/index.ts";

export interface CheckOptions {
  /** the working tree: the repository's root */
  dir: string;
  /** the server's config, when given: its repository.path, restrictions, profiles, target */
  config?: KontaConfig;
  target?: TargetName;
  /** what only the server has is a refusal too */
  strict?: boolean;
}

export interface Finding {
  level: "error" | "note";
  /** relative to the working tree */
  file?: string;
  line?: number;
  message: string;
  hint?: string;
  /** what the server would have to supply (a note's reason) */
  unknown?: string;
}

export interface CheckReport {
  accepted: boolean;
  target: TargetName;
  projects: string[];
  findings: Finding[];
}

/** "apps/x/compose.yaml:12: services.web.ports: ..." as file, line and the rest. */
export function locate(message: string): Pick<Finding, "file" | "line" | "message"> {
  const m = /^([^\s:][^:\n]*?)(?::(\d+))?: (.*)$/s.exec(message);
  if (!m || !/[./]/.test(m[1] as string)) return { message };
  return { file: m[1], ...(m[2] ? { line: Number(m[2]) } : {}), message: m[3] as string };
}

function finding(err: InputError, strict: boolean): Finding {
  const unknown = err.unknown;
  return {
    level: unknown && !strict ? "note" : "error",
    ...locate(err.message),
    ...(err.hint ? { hint: err.hint } : {}),
    ...(unknown ? { unknown } : {}),
  };
}

/**
 * How `konta check` loads the tree: as a sync would, with the config's restrictions and its env
 * files when they are here. A variable the project requires that nothing here sets gets a stand-in
 * value (recorded in `standIns`), so the rest of the project is still checked.
 */
function loadOptions(dir: string, config: KontaConfig | undefined, standIns: Set<string>): LoadOptions {
  const d = config?.deploy;
  return {
    repoRoot: dir,
    ...(config ? { hostEnvDir: join(dirname(config.file), "env") } : {}),
    passthrough: d?.env_passthrough ?? [],
    processEnv: process.env,
    profiles: d?.profiles ?? [],
    policy: { allowPrivileged: d?.allow_privileged ?? true, allowedBindRoots: d?.allowed_bind_roots, allowedCapabilities: d?.allowed_capabilities },
    standIn: (name) => {
      standIns.add(name);
      return "1";
    },
    // a SOPS file opens only with the server's age key, unknown here unless it is; files the deploy
    // would write (secrets from content or a variable) are written by a deploy, never by a check
    sops: new SopsKeyring(config?.secrets.age_key_file ?? join(dir, ".konta-check-no-age-key"), join(tmpdir(), "konta-check-never-written")),
    // no secret manager is asked: references are checked against the config's providers (any, without one)
    managed: new ManagedSecrets(config ? Object.keys(config.secrets.providers) : undefined),
  };
}

/**
 * Notes for what the managed services read from the server: external volumes (and networks, unless
 * deploy.auto_create_external_networks creates them), unset variables.
 */
function serverNotes(projects: LoadedProject[], root: string, strict: boolean, createNetworks: boolean): Finding[] {
  const out: Finding[] = [];
  const level = strict ? "error" : "note";
  for (const p of projects) {
    const file = `${root}apps/${p.name}/${p.files[0] ?? ""}`;
    const managed = Object.values(p.services).filter((s) => s.managed);
    const networks = new Set(managed.flatMap((s) => Object.keys(s.networks ?? {})));
    const volumes = new Set(managed.flatMap((s) => (s.volumes ?? []).flatMap((v) => (v.type === "volume" && v.source ? [v.source] : []))));
    for (const [key, n] of Object.entries(p.networks)) {
      if (n.external && networks.has(key) && !createNetworks) out.push({ level, file, message: `external network ${n.name} must exist on the server (or set deploy.auto_create_external_networks: true)`, unknown: `network ${n.name}` });
    }
    for (const [key, v] of Object.entries(p.volumes)) {
      if (v.external && volumes.has(key)) out.push({ level, file, message: `external volume ${v.name} must exist on the server (docker volume create ${v.name})`, unknown: `volume ${v.name}` });
    }
    for (const [name, ref] of Object.entries(p.konta?.secrets ?? {})) {
      out.push({ level: "note", file, message: `${name} is fetched from ${ref} by the deploy; checked with a stand-in value` });
    }
    for (const w of p.warnings) {
      const unset = /variable (\S+) is not set; using an empty string/.exec(w);
      if (unset) out.push({ level, file, message: `${unset[1]} is not set here: it is empty unless the server sets it (<config dir>/env/${p.name}.env, or deploy.env_passthrough)`, unknown: `variable ${unset[1]}` });
    }
  }
  return out;
}

export async function check(opts: CheckOptions): Promise<CheckReport> {
  const dir = resolve(opts.dir);
  const strict = !!opts.strict;
  const target = opts.target ?? opts.config?.deploy.target ?? (TARGETS[0] as TargetName);
  const sub = opts.config?.repository.path ?? ".";
  const root = join(dir, sub);
  const prefix = sub === "." ? "" : `${sub.replace(/\/+$/, "")}/`;
  const findings: Finding[] = [];
  let projects: LoadedProject[] = [];
  const standIns = new Set<string>();
  try {
    const load = loadOptions(dir, opts.config, standIns);
    const loaded = await unlocking(load.sops, () => loadReleaseChecked(root, load));
    projects = loaded.projects;
    findings.push(...loaded.refusals.map((r) => finding(r, strict)));
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    findings.push(finding(err, strict));
  }
  findings.push(...(await targetOf(target).validate(projects, dir)).map((r) => finding(r, strict)));
  findings.push(...serverNotes(projects, prefix, strict, opts.config?.deploy.auto_create_external_networks ?? true));
  for (const name of [...standIns].sort()) {
    findings.push({ level: strict ? "error" : "note", message: `${name} is required and not set here: checked with a stand-in value; the server must set it (<config dir>/env/<project>.env, or deploy.env_passthrough)`, unknown: `variable ${name}` });
  }
  return { accepted: !findings.some((f) => f.level === "error"), target, projects: projects.map((p) => p.name), findings };
}
