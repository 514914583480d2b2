// Several Konta instances on one server (several repositories, or branches of one): the default
// instance keeps the single-instance layout (/etc/konta/config.yaml, /var/lib/konta, konta.service),
// a named one lives beside it (/etc/konta/instances/NAME.yaml, /var/lib/konta/NAME,
// konta@NAME.service). Paths only; nothing here reads a config.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError } from "./errors.ts";
import { resolveConfigFile, resolveStateDir } from "./paths.ts";

export interface InstanceRef {
  /** undefined: the default instance */
  name?: string;
  config: string;
  stateDir: string;
}

/** Where every instance of this server lives: the default's config folder and state dir. */
export interface Family {
  configDir: string;
  stateRoot: string;
}

// names a named instance's state dir may not take: they are the default instance's own entries
const RESERVED = new Set(["default", "instances", "repo", "releases", "current", "secrets", "run", "env", "key"]);

export function checkInstanceName(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(name) || RESERVED.has(name)) {
    throw new InputError(`"${name}" is not an instance name`, {
      hint: `use lower-case letters, digits and dashes (up to 40), not one of ${[...RESERVED].join(", ")}`,
    });
  }
  return name;
}

export const instanceLabel = (ref: InstanceRef): string => ref.name ?? "default";
export const serviceUnit = (ref: InstanceRef): string => (ref.name ? `konta@${ref.name}.service` : "konta.service");
export const timerUnit = (ref: InstanceRef): string => (ref.name ? `konta@${ref.name}.timer` : "konta.timer");

export function instanceConfig(family: Family, name: string): string {
  return join(family.configDir, "instances", `${name}.yaml`);
}

/**
 * `--instance NAME` (or KONTA_INSTANCE) picks a named instance; `--config` / `--state-dir` still
 * name files of their own when given. The family is where the default instance's files are.
 */
export function resolveInstance(flags: { config?: string; stateDir?: string; instance?: string }): { ref: InstanceRef; family: Family } {
  const raw = flags.instance || process.env.KONTA_INSTANCE || undefined;
  const name = raw && raw !== "default" ? checkInstanceName(raw) : undefined;
  if (!name) {
    const ref = { config: resolveConfigFile(flags.config), stateDir: resolveStateDir(flags.stateDir) };
    return { ref, family: { configDir: dirname(ref.config), stateRoot: ref.stateDir } };
  }
  const family = { configDir: dirname(resolveConfigFile(undefined)), stateRoot: resolveStateDir(undefined) };
  return { ref: { name, config: flags.config || instanceConfig(family, name), stateDir: flags.stateDir || join(family.stateRoot, name) }, family };
}

/** Every instance set up here: the default one if its config exists, then the named ones, by name. */
export function listInstances(family: Family): InstanceRef[] {
  const out: InstanceRef[] = [];
  const main = join(family.configDir, "config.yaml");
  if (existsSync(main)) out.push({ config: main, stateDir: family.stateRoot });
  const dir = join(family.configDir, "instances");
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => f.slice(0, -5)).sort() : [];
  for (const name of names) {
    if (/^[a-z0-9][a-z0-9-]{0,39}$/.test(name) && !RESERVED.has(name)) out.push({ name, config: join(dir, `${name}.yaml`), stateDir: join(family.stateRoot, name) });
  }
  return out;
}
