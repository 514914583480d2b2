// `konta install` / `konta uninstall`: the config (if missing), the state directory, and the
// systemd units from packaging/systemd/ (embedded in the binary), enabled with systemctl.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import serviceTemplate from "../../packaging/systemd/konta.service" with { type: "text" };
import timerTemplate from "../../packaging/systemd/konta.timer" with { type: "text" };
import webhookSocketTemplate from "../../packaging/systemd/konta-webhook.socket" with { type: "text" };
import webhookServiceTemplate from "../../packaging/systemd/konta-webhook@.service" with { type: "text" };
import { parseConfig } from "../config/parse.ts";
import type { KontaConfig } from "../config/types.ts";
import { ensureDeployKey, keyFingerprint, pinHostKeys, publicKey } from "../git/ssh.ts";
import { parseSshUrl } from "../git/url.ts";
import { redact } from "../base/redact.ts";
import { InputError } from "../base/errors.ts";
import { ensureDir, writeFileAtomic } from "../base/fsutil.ts";
import { dropFromPageCache } from "../base/libc.ts";
import { log } from "../base/log.ts";
import { DEFAULT_UNIT_DIR, statePaths } from "../base/paths.ts";
import { type Family, listInstances, timerUnit } from "../base/instances.ts";
import { encryptToken } from "../config/token.ts";
import { dockerConfigFile } from "../docker/credentials.ts";

const WEBHOOK_SOCKET = "konta-webhook.socket";

export interface UnitOptions {
  binary: string;
  config: string;
  stateDir: string;
  interval: number;
  /** hooks.writable_paths of the config */
  hookPaths: string[];
  /** also konta-webhook.socket and konta-webhook@.service, listening on this port */
  webhookPort?: number;
  /** the Docker config the unit may read (registry credentials); default: root's, as `docker login` writes it */
  dockerConfigDir?: string;
  /** a named instance: the template units konta@.service / konta@.timer and drop-ins of konta@NAME.* */
  instance?: { name: string; family: Family };
}

/** Where the .deb puts the units (installed, not enabled), and what they were rendered with. */
export const PACKAGED_UNIT_DIR = "/usr/lib/systemd/system";
export const PACKAGED_DEFAULTS: UnitOptions = { binary: "/usr/bin/konta", config: "/etc/konta/config.yaml", stateDir: "/var/lib/konta", interval: 120, hookPaths: [], dockerConfigDir: "/root/.docker" };
const INSTALL_HEADER = "# Written by `konta install`";

/** Writable for hooks out of the box: where pre.sh backups conventionally go ("-": fine if missing). */
export const DEFAULT_HOOK_PATHS = ["/var/backups"];

/** The path systemd should run: this binary, or the installed one when running from source. */
export function defaultBinary(): string {
  return basename(process.execPath).startsWith("bun") ? "/usr/local/bin/konta" : process.execPath;
}

/**
 * The template units of named instances, made from the plain ones (one source, so they never
 * differ in hardening): `konta sync --instance %i`, the state dir of %i writable, and the family's
 * paths in the environment so that an instance finds its files wherever the default's are. What
 * differs per instance (interval, hook paths) goes into drop-ins of konta@NAME.*.
 */
function renderInstanceUnits(o: UnitOptions, inst: { name: string; family: Family }): Record<string, string> {
  const plain = renderUnits({ ...o, instance: undefined, stateDir: join(inst.family.stateRoot, "%i"), hookPaths: [] });
  const env = `Environment="KONTA_CONFIG=${join(inst.family.configDir, "config.yaml")}" "KONTA_HOME=${inst.family.stateRoot}"`;
  const service = (plain["konta.service"] as string)
    .replace(/^ExecStart=.*$/m, `ExecStart=${o.binary} sync --instance %i\n${env}`)
    .replace(/^Description=(.*)$/m, "Description=$1 (instance %i)")
    .replace("`konta install` rewrites this line", "a drop-in of konta@NAME.service adds them");
  const timer = (plain["konta.timer"] as string).replace(/^Unit=konta\.service$/m, "Unit=konta@%i.service").replace(/^Description=(.*) every \d+ seconds$/m, "Description=$1 of instance %i");
  const jitter = Math.max(1, Math.min(30, Math.floor(o.interval / 4)));
  const header = `${INSTALL_HEADER} --instance ${inst.name}.`;
  const units: Record<string, string> = {
    "konta@.service": service,
    "konta@.timer": timer,
    // one empty assignment resets every trigger of a timer: then all of them again
    [`konta@${inst.name}.timer.d/konta-install.conf`]: `${header}\n[Timer]\nOnBootSec=\nOnBootSec=30s\nOnUnitInactiveSec=${o.interval}s\nRandomizedDelaySec=${jitter}s\n`,
  };
  const paths = [...new Set(o.hookPaths)].map((p) => `-${p}`);
  if (paths.length) units[`konta@${inst.name}.service.d/konta-install.conf`] = `${header}\n[Service]\nReadWritePaths=${paths.join(" ")}\n`;
  if (o.webhookPort) {
    const shared = renderUnits({ ...o, instance: undefined, config: join(inst.family.configDir, "config.yaml"), stateDir: inst.family.stateRoot });
    Object.assign(units, { [WEBHOOK_SOCKET]: shared[WEBHOOK_SOCKET], "konta-webhook@.service": shared["konta-webhook@.service"] });
  }
  return units;
}

export function renderUnits(o: UnitOptions): Record<string, string> {
  if (o.instance) return renderInstanceUnits(o, o.instance);
  const fill = (t: string) =>
    t
      .replaceAll("@BIN@", o.binary)
      .replaceAll("@CONFIG@", o.config)
      .replaceAll("@WRITABLE@", [o.stateDir, ...[...new Set([...DEFAULT_HOOK_PATHS, ...o.hookPaths])].map((p) => `-${p}`)].join(" "))
      .replaceAll("@DOCKER_CONFIG_DIR@", o.dockerConfigDir ?? dirname(dockerConfigFile({})))
      .replaceAll("@STATE_DIR@", o.stateDir)
      .replaceAll("@INTERVAL@", String(o.interval))
      .replaceAll("@JITTER@", String(Math.max(1, Math.min(30, Math.floor(o.interval / 4)))))
      .replaceAll("@WEBHOOK_PORT@", String(o.webhookPort));
  const units: Record<string, string> = { "konta.service": fill(serviceTemplate), "konta.timer": fill(timerTemplate) };
  if (o.webhookPort) Object.assign(units, { [WEBHOOK_SOCKET]: fill(webhookSocketTemplate), "konta-webhook@.service": fill(webhookServiceTemplate) });
  return units;
}

export interface InstallOptions extends UnitOptions {
  repo?: string;
  /** set up Git over SSH: a deploy key (made if missing) and the host key pinned (implied by an SSH URL) */
  ssh?: boolean;
  branch?: string;
  path?: string;
  token?: string;
  unitDir: string;
  /** run systemctl (daemon-reload, enable --now); off for tests and image builds */
  enable: boolean;
}

function configText(o: InstallOptions, token: string | undefined): string {
  return `# Konta configuration (docs/configuration.md). Keep this file mode 0600.
version: 1
repository:
  url: ${JSON.stringify(o.repo)}
  branch: ${JSON.stringify(o.branch ?? "main")}
  path: ${JSON.stringify(o.path ?? ".")}
  interval: ${o.interval}
${token ? `  token: ${token}\n` : parseSshUrl(o.repo ?? "") ? "  # ssh_key_file and known_hosts_file: default beside this file (deploy_key, known_hosts; NAME.deploy_key, NAME.known_hosts for an instance)\n" : "  # token: set it with `konta token set` (read from stdin, stored encrypted)\n"}deploy:
  health_timeout: 120
  keep_releases: 5
  prune_removed_apps: true
hooks:
  timeout: 300
`;
}

/** The deploy key (made when missing) and the host key pinned; says what to compare and where the public key goes. Safe to re-run. */
function setUpSsh(config: KontaConfig): string[] {
  const r = config.repository;
  const remote = parseSshUrl(r.url);
  if (!remote) throw new InputError(`--ssh: repository.url in ${config.file} is not an SSH URL (${redact(r.url)})`, { hint: "use ssh://git@host/owner/repo.git or git@host:owner/repo.git" });
  const made = ensureDeployKey(r.ssh_key_file, `konta@${hostname()}`);
  const pinned = pinHostKeys(remote, r.known_hosts_file, r.timeout);
  const where = `${remote.host}${remote.port ? `:${remote.port}` : ""}`;
  return [
    `${made ? "made" : "kept"} the deploy key ${r.ssh_key_file} (${keyFingerprint(r.ssh_key_file) ?? "?"})`,
    `${pinned.added ? "pinned" : "kept the pinned"} host key of ${where} in ${r.known_hosts_file}: ${pinned.fingerprints.join(", ")}`,
    pinned.added ? `  compare with the fingerprints ${remote.host} publishes before the first sync (a different one: remove that line and stop)` : "",
    "add this public key to the repository as a deploy key, read-only (GitHub: Settings → Deploy keys → Add deploy key; GitLab: Settings → Repository → Deploy keys):",
    `  ${publicKey(r.ssh_key_file)}`,
  ].filter(Boolean);
}

/**
 * The .deb installed konta.service and konta.timer: use them, with a drop-in for what this server
 * sets otherwise (config and state paths, hook paths, interval), and take away a full unit an
 * earlier `konta install` wrote, which would hide the packaged one.
 */
function packagedUnits(o: InstallOptions, units: Record<string, string>): string[] {
  const done: string[] = [];
  const base = renderUnits(PACKAGED_DEFAULTS);
  const directives = (text: string, keys: string[]) => text.split("\n").filter((l) => keys.some((k) => l.startsWith(`${k}=`)));
  // an empty assignment empties a list first; for a timer it empties every trigger (OnBootSec too)
  const overrides: Record<string, [section: string, keys: string[], resets: string[]]> = {
    "konta.service": ["Service", ["ExecStart", "ReadWritePaths", "BindReadOnlyPaths"], ["ExecStart=", "ReadWritePaths=", "BindReadOnlyPaths="]],
    "konta.timer": ["Timer", ["OnBootSec", "OnUnitInactiveSec", "RandomizedDelaySec"], ["OnUnitInactiveSec="]],
  };
  for (const [name, [section, keys, resets]] of Object.entries(overrides)) {
    const own = join(o.unitDir, name);
    if (existsSync(own) && readFileSync(own, "utf8").startsWith(INSTALL_HEADER)) {
      rmSync(own);
      done.push(`removed ${own} (the packaged ${join(PACKAGED_UNIT_DIR, name)} is used)`);
    }
    const dropIn = join(o.unitDir, `${name}.d`, "konta-install.conf");
    const wanted = directives(units[name] as string, keys);
    if (wanted.join("\n") === directives(base[name] as string, keys).join("\n")) {
      if (existsSync(dropIn)) rmSync(dropIn);
      done.push(`using ${join(PACKAGED_UNIT_DIR, name)} as packaged`);
      continue;
    }
    ensureDir(dirname(dropIn), 0o755);
    writeFileSync(dropIn, `${INSTALL_HEADER} over the packaged ${name}.\n[${section}]\n${[...resets, ...wanted].join("\n")}\n`, { mode: 0o644 });
    done.push(`using ${join(PACKAGED_UNIT_DIR, name)} with ${dropIn}`);
  }
  return done;
}

function systemdRunning(): boolean {
  return existsSync("/run/systemd/system");
}

function systemctl(...args: string[]): void {
  const r = spawnSync("systemctl", args, { encoding: "utf8" });
  if (r.status !== 0) throw new InputError(`systemctl ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
}

export async function install(o: InstallOptions): Promise<string[]> {
  const done: string[] = [];
  if (!existsSync(o.config)) {
    if (!o.repo) throw new InputError(`no configuration at ${o.config} yet`, { hint: "pass --repo https://github.com/<owner>/<repo>.git (and the token on stdin)" });
    ensureDir(dirname(o.config), 0o755);
    ensureDir(join(dirname(o.config), "env"), 0o700);
    ensureDir(o.stateDir, 0o700);
    const token = o.token ? await encryptToken(o.token, statePaths(o.stateDir).key) : undefined;
    const text = configText(o, token);
    parseConfig(text, o.config); // never write a config Konta would then refuse
    writeFileAtomic(o.config, text, 0o600);
    done.push(`wrote ${o.config}${token ? " (token encrypted)" : ""}`);
  } else {
    if (o.repo || o.token) log.warn(`${o.config} exists; --repo/--branch/--path and the token are not applied (edit it, or use konta token set)`);
    done.push(`kept ${o.config}`);
  }
  if (o.ssh || parseSshUrl(o.repo ?? "")) done.push(...setUpSsh(parseConfig(readFileSync(o.config, "utf8"), o.config)));
  ensureDir(o.stateDir, 0o700);
  chmodSync(o.stateDir, 0o700);
  mkdirSync(statePaths(o.stateDir).releases, { recursive: true, mode: 0o755 });
  done.push(`state directory ${o.stateDir} (mode 0700)`);
  ensureDir(o.unitDir, 0o755);
  const units = renderUnits(o);
  const packaged = !o.instance && o.unitDir === DEFAULT_UNIT_DIR && existsSync(join(PACKAGED_UNIT_DIR, "konta.service"));
  if (packaged) done.push(...packagedUnits(o, units));
  for (const [name, text] of Object.entries(units)) {
    if (packaged && (name === "konta.service" || name === "konta.timer")) continue;
    ensureDir(dirname(join(o.unitDir, name)), 0o755);
    writeFileSync(join(o.unitDir, name), text, { mode: 0o644 });
    done.push(`installed ${join(o.unitDir, name)}`);
  }
  // a binary just written (install.sh, a copy) is cached as written, and runs would map far more of it
  // than they run (see libc.ts); the one installing itself too (install.sh with DESTDIR)
  for (const binary of new Set([o.binary, ...(Bun.isStandaloneExecutable ? [process.execPath] : [])])) dropFromPageCache(binary);
  const timer = timerUnit({ name: o.instance?.name, config: o.config, stateDir: o.stateDir });
  if (o.enable && systemdRunning()) {
    systemctl("daemon-reload");
    systemctl("enable", "--now", timer);
    done.push(`enabled and started ${timer}`);
    if (o.webhookPort) {
      systemctl("enable", "--now", WEBHOOK_SOCKET);
      done.push(`enabled and started ${WEBHOOK_SOCKET} (port ${o.webhookPort}; set the secret with \`konta webhook secret set\`)`);
    }
  } else {
    done.push(`not enabled (no running systemd here, or --no-enable): run \`systemctl daemon-reload && systemctl enable --now ${timer}\``);
  }
  return done;
}

export function uninstall(o: { unitDir: string; config: string; stateDir: string; purge: boolean; enable: boolean; instance?: { name: string; family: Family } }): string[] {
  const done: string[] = [];
  const name = o.instance?.name;
  // the other instances of this server keep running: their units, the shared webhook socket and their state dirs stay
  const family = o.instance?.family ?? { configDir: dirname(o.config), stateRoot: o.stateDir };
  const others = listInstances(family).filter((i) => i.name !== name && i.config !== o.config);
  const timer = name ? `konta@${name}.timer` : "konta.timer";
  const shared = others.length ? [] : [WEBHOOK_SOCKET];
  if (o.enable && systemdRunning()) {
    spawnSync("systemctl", ["disable", "--now", timer, ...shared], { encoding: "utf8" });
    spawnSync("systemctl", ["stop", name ? `konta@${name}.service` : "konta.service"], { encoding: "utf8" });
  }
  // the packaged units stay (the package owns them); what konta install wrote goes
  const own = name
    ? [`konta@${name}.timer.d/konta-install.conf`, `konta@${name}.service.d/konta-install.conf`, ...(others.some((i) => i.name) ? [] : ["konta@.service", "konta@.timer"])]
    : ["konta.timer", "konta.service", "konta.service.d/konta-install.conf", "konta.timer.d/konta-install.conf"];
  const webhook = others.length ? [] : [WEBHOOK_SOCKET, "konta-webhook@.service"];
  for (const file of [...own, ...webhook].map((n) => join(o.unitDir, n))) {
    if (existsSync(file)) {
      rmSync(file);
      done.push(`removed ${file}`);
    }
  }
  if (o.enable && systemdRunning()) spawnSync("systemctl", ["daemon-reload"]);
  if (o.purge) {
    // the default instance's state dir holds the named instances' own: those stay
    const keep = new Set(others.map((i) => i.stateDir).filter((d) => dirname(d) === o.stateDir));
    if (keep.size && existsSync(o.stateDir)) {
      for (const e of readdirSync(o.stateDir)) if (!keep.has(join(o.stateDir, e))) rmSync(join(o.stateDir, e), { recursive: true, force: true });
    } else {
      rmSync(o.stateDir, { recursive: true, force: true });
    }
    rmSync(o.config, { force: true });
    done.push(`purged ${o.stateDir} and ${o.config}${keep.size ? ` (the other instances' state dirs kept)` : ""}`);
  } else {
    done.push(`kept ${o.stateDir} and ${o.config} (--purge removes them)`);
  }
  if (others.length) done.push(`left the other instances running: ${others.map((i) => i.name ?? "default").join(", ")}`);
  done.push("running containers were left as they are");
  return done;
}
