// One comparable shape for a service as `docker compose config --format json` prints it (Compose
// v2) and as Konta's loader models it, so that the loader oracle compares like with like. The
// normalisation, documented once here: durations in nanoseconds, sizes in bytes, relative paths
// resolved against the project folder, lists that are sets sorted, ports as
// "host_ip|published|target|protocol", volumes by target, `restart` and `deploy.restart_policy` as
// the one policy the engine gets, `deploy.resources` folded into the service keys Konta uses,
// defaults (create_host_path, port mode "ingress", empty maps, null) dropped.
/* eslint-disable @typescript-eslint/no-explicit-any -- Compose's JSON model */
import { isAbsolute, join, resolve } from "node:path";
import type { ProjectModel, ServiceModel } from "../../lib/compose/model.ts";
import { isGitContext } from "../../lib/compose/canonical.ts";

export type View = Record<string, unknown>;

const UNITS: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, "µs": 1e3, ns: 1 };

/** Go's time.ParseDuration ("1m30s", "500ms") in nanoseconds. */
export function goDuration(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) total += Number(m[1]) * (UNITS[m[2] as string] as number);
  return Math.round(total);
}

const byTarget = (a: View, b: View) => String(a.target).localeCompare(String(b.target));
const bytes = (v: unknown) => (v === undefined || v === null ? undefined : Number(v));
const sorted = (v: unknown[] | undefined) => (v?.length ? [...v].map(String).sort() : undefined);
const nonEmpty = (m: Record<string, unknown> | undefined | null) => (m && Object.keys(m).length ? m : undefined);

function clean(v: View): View {
  const out: View = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || x === null) continue;
    if (typeof x === "object" && !Array.isArray(x) && !Object.keys(x).length) continue;
    out[k] = x && typeof x === "object" && !Array.isArray(x) ? clean(x as View) : x;
  }
  return out;
}

const portKey = (p: { host_ip?: string; published?: string | number; target: number; protocol?: string }) =>
  `${p.host_ip ?? ""}|${p.published ?? ""}|${p.target}|${p.protocol ?? "tcp"}`;

function restartOf(policy: string | undefined): View | undefined {
  // "no" is the engine's default, which Konta leaves unset
  if (!policy || policy === "no") return undefined;
  const [name, max] = policy.split(":");
  return clean({ name, max_retries: max === undefined ? undefined : Number(max) });
}

const SCALARS = [
  "user", "working_dir", "hostname", "domainname", "stdin_open", "tty", "init", "privileged", "read_only", "container_name",
  "pid", "ipc", "uts", "userns_mode", "cgroup", "cgroup_parent", "platform", "runtime", "mac_address", "stop_signal",
  "isolation", "oom_kill_disable", "oom_score_adj", "cpu_shares", "cpu_quota", "cpu_period", "cpu_rt_period",
  "cpu_rt_runtime", "cpu_count", "cpu_percent", "cpuset", "pids_limit", "mem_swappiness", "network_mode",
] as const;
const SETS = ["cap_add", "cap_drop", "security_opt", "group_add", "dns", "dns_search", "dns_opt", "device_cgroup_rules", "external_links", "tmpfs"] as const;
const MAPS = ["labels", "annotations", "sysctls", "storage_opt"] as const;

/** `docker compose config` escapes every `$` of a value as `$$` (so the output loads again): undo it. */
export function unescapeDollars(x: any): any {
  if (typeof x === "string") return x.replaceAll("$$", "$");
  if (Array.isArray(x)) return x.map(unescapeDollars);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, unescapeDollars(y)]));
  return x;
}

/** A service of `docker compose config --format json`. */
export function composeView(service: any, project: any, dir: string): View {
  const c = unescapeDollars(service);
  const v: View = {};
  if (c.image) v.image = c.image;
  v.command = c.command ?? undefined;
  v.entrypoint = c.entrypoint ?? undefined;
  v.environment = nonEmpty(Object.fromEntries(Object.entries(c.environment ?? {}).filter(([, x]) => x !== null)));
  for (const k of MAPS) v[k] = nonEmpty(c[k]);
  for (const k of SCALARS) v[k] = c[k];
  // compose-go types mem_swappiness as a size and prints it as a string
  if (c.mem_swappiness !== undefined) v.mem_swappiness = Number(c.mem_swappiness);
  for (const k of SETS) v[k] = sorted(c[k]);
  v.ports = sorted((c.ports ?? []).map(portKey));
  v.expose = sorted((c.expose ?? []).map((e: string) => e.replace(/\/tcp$/, "")));
  v.volumes = (c.volumes ?? [])
    .map((m: any) =>
      clean({
        type: m.type,
        source: m.type === "bind" ? resolve(dir, m.source) : m.source,
        target: m.target,
        read_only: m.read_only || undefined,
        propagation: m.bind?.propagation,
        selinux: m.bind?.selinux,
        nocopy: m.volume?.nocopy || undefined,
        subpath: m.volume?.subpath,
        size: bytes(m.tmpfs?.size),
        mode: m.tmpfs?.mode,
      }),
    )
    .sort(byTarget);
  v.networks = nonEmpty(
    Object.fromEntries(
      Object.entries(c.networks ?? {}).map(([k, n]: [string, any]) => [
        k,
        clean({ aliases: sorted(n?.aliases), ipv4_address: n?.ipv4_address, ipv6_address: n?.ipv6_address, priority: n?.priority }),
      ]),
    ),
  );
  if (c.healthcheck) {
    const h = c.healthcheck;
    v.healthcheck = clean({
      test: h.disable ? ["NONE"] : h.test,
      interval: goDuration(h.interval),
      timeout: goDuration(h.timeout),
      retries: h.retries,
      start_period: goDuration(h.start_period),
      start_interval: goDuration(h.start_interval),
    });
  }
  const rp = c.deploy?.restart_policy;
  v.restart = restartOf(c.restart) ?? (rp ? restartOf(rp.condition === "any" ? "always" : rp.condition === "none" ? "no" : `on-failure${rp.max_attempts ? `:${rp.max_attempts}` : ""}`) : undefined);
  v.depends_on = nonEmpty(
    Object.fromEntries(Object.entries(c.depends_on ?? {}).map(([k, d]: [string, any]) => [k, { condition: d.condition, restart: d.restart ?? false, required: d.required ?? true }])),
  );
  const extra: Record<string, string[]> = {};
  for (const e of c.extra_hosts ?? []) {
    const [host, ip] = String(e).split(/=(.*)/s) as [string, string];
    (extra[host] ??= []).push(ip);
  }
  for (const k of Object.keys(extra)) extra[k]?.sort();
  v.extra_hosts = nonEmpty(extra);
  v.ulimits = nonEmpty(Object.fromEntries(Object.entries(c.ulimits ?? {}).map(([k, u]: [string, any]) => [k, typeof u === "number" ? { soft: u, hard: u } : { soft: u.soft, hard: u.hard }])));
  v.logging = c.logging ? clean({ driver: c.logging.driver, options: nonEmpty(c.logging.options) }) : undefined;
  const limits = c.deploy?.resources?.limits ?? {};
  const reservations = c.deploy?.resources?.reservations ?? {};
  v.mem_limit = bytes(c.mem_limit ?? limits.memory);
  v.mem_reservation = bytes(c.mem_reservation ?? reservations.memory);
  v.memswap_limit = bytes(c.memswap_limit);
  v.shm_size = bytes(c.shm_size);
  const cpus = c.cpus ?? limits.cpus;
  v.cpus = cpus === undefined ? undefined : Number(cpus);
  if (limits.pids !== undefined && v.pids_limit === undefined) v.pids_limit = limits.pids;
  v.stop_grace_period = goDuration(c.stop_grace_period);
  v.devices = c.devices?.length ? c.devices.map((d: any) => clean({ source: d.source, target: d.target, permissions: d.permissions })).sort(byTarget) : undefined;
  v.replicas = c.scale ?? c.deploy?.replicas ?? 1;
  for (const kind of ["secrets", "configs"] as const) {
    const defaultDir = kind === "secrets" ? "/run/secrets/" : "/";
    v[kind] = sorted(
      (c[kind] ?? []).map((r: any) => {
        const file = project[kind]?.[r.source]?.file;
        const target = r.target ? (isAbsolute(r.target) ? r.target : `${defaultDir}${r.target}`) : `${defaultDir}${r.source}`;
        return `${file ? resolve(dir, file) : r.source} -> ${target}`;
      }),
    );
  }
  return clean(v);
}

/** A service of Konta's model. */
export function kontaView(s: ServiceModel, project: ProjectModel): View {
  const dir = project.dir;
  const v: View = {};
  v.image = s.image;
  v.command = s.command ?? undefined;
  v.entrypoint = s.entrypoint ?? undefined;
  v.environment = nonEmpty(Object.fromEntries(Object.entries(s.environment ?? {}).filter(([, x]) => x !== null)));
  for (const k of MAPS) v[k] = nonEmpty(s[k]);
  for (const k of SCALARS) v[k] = s[k];
  for (const k of SETS) v[k] = sorted(s[k]);
  v.ports = sorted((s.ports ?? []).map(portKey));
  v.expose = sorted((s.expose ?? []).map((e) => e.replace(/\/tcp$/, "")));
  v.volumes = (s.volumes ?? [])
    .map((m) =>
      clean({
        type: m.type,
        source: m.type === "bind" ? (isAbsolute(m.source) ? m.source : join(dir, m.source)) : m.type === "volume" ? m.source : undefined,
        target: m.target,
        read_only: m.read_only || undefined,
        propagation: m.type === "bind" ? m.bind?.propagation : undefined,
        selinux: m.type === "bind" ? m.bind?.selinux : undefined,
        nocopy: m.type === "volume" ? m.volume?.nocopy || undefined : undefined,
        subpath: m.type === "volume" ? m.volume?.subpath : undefined,
        size: m.type === "tmpfs" ? m.tmpfs?.size : undefined,
        mode: m.type === "tmpfs" ? m.tmpfs?.mode : undefined,
      }),
    )
    .sort(byTarget);
  v.networks = nonEmpty(
    Object.fromEntries(
      Object.entries(s.networks ?? {}).map(([k, n]) => [k, clean({ aliases: sorted(n.aliases), ipv4_address: n.ipv4_address, ipv6_address: n.ipv6_address, priority: n.priority })]),
    ),
  );
  v.healthcheck = s.healthcheck ? clean({ ...s.healthcheck }) : undefined;
  v.restart = s.restart && s.restart.name !== "no" ? clean({ name: s.restart.name, max_retries: s.restart.max_retries }) : undefined;
  v.depends_on = nonEmpty(s.depends_on);
  v.extra_hosts = nonEmpty(Object.fromEntries(Object.entries(s.extra_hosts ?? {}).map(([k, ips]) => [k, [...ips].sort()])));
  v.ulimits = nonEmpty(s.ulimits);
  v.logging = s.logging ? clean({ driver: s.logging.driver, options: nonEmpty(s.logging.options) }) : undefined;
  for (const k of ["mem_limit", "mem_reservation", "memswap_limit", "shm_size", "cpus", "stop_grace_period"] as const) v[k] = s[k];
  v.devices = s.devices?.length ? s.devices.map((d) => clean({ ...d })).sort(byTarget) : undefined;
  v.replicas = s.replicas;
  for (const kind of ["secrets", "configs"] as const) {
    v[kind] = sorted((s[kind] ?? []).map((m) => `${isAbsolute(m.source) ? m.source : join(dir, m.source)} -> ${m.target}`));
  }
  return clean(v);
}

/** A service's build, from Compose. */
export function composeBuild(b: any, dir: string): View | undefined {
  if (!b) return undefined;
  const c = unescapeDollars(b);
  return clean({
    context: isGitContext(c.context ?? ".") ? c.context : resolve(dir, c.context ?? "."),
    dockerfile: c.dockerfile && c.dockerfile !== "Dockerfile" ? c.dockerfile : undefined,
    dockerfile_inline: c.dockerfile_inline,
    args: nonEmpty(Object.fromEntries(Object.entries(c.args ?? {}).filter(([, x]) => x !== null))),
    target: c.target,
    labels: nonEmpty(c.labels),
    network: c.network,
    shm_size: bytes(c.shm_size),
    cache_from: sorted(c.cache_from),
    no_cache: c.no_cache || undefined,
    pull: c.pull || undefined,
  });
}

export function kontaBuild(b: ServiceModel["build"], dir: string): View | undefined {
  if (!b) return undefined;
  return clean({
    context: b.git ? b.context : resolve(dir, b.context),
    dockerfile: b.dockerfile && b.dockerfile !== "Dockerfile" ? b.dockerfile : undefined,
    dockerfile_inline: b.dockerfile_inline,
    args: nonEmpty(b.args),
    target: b.target,
    labels: nonEmpty(b.labels),
    network: b.network,
    shm_size: b.shm_size,
    cache_from: sorted(b.cache_from),
    no_cache: b.no_cache || undefined,
    pull: b.pull || undefined,
  });
}

/** Top-level networks and volumes as the engine gets them, by engine name. Compose's JSON and Konta's model use the same keys here. */
function resourcesView(networks: any[], volumes: any[]): View {
  return {
    networks: Object.fromEntries(
      networks.map((n) => [
        n.name,
        clean({
          external: n.external || undefined,
          driver: n.driver,
          driver_opts: nonEmpty(n.driver_opts),
          internal: n.internal || undefined,
          attachable: n.attachable || undefined,
          enable_ipv6: n.enable_ipv6 || undefined,
          labels: nonEmpty(n.labels),
          ipam: n.ipam ? clean({ driver: n.ipam.driver, config: n.ipam.config?.length ? n.ipam.config : undefined, options: nonEmpty(n.ipam.options) }) : undefined,
        }),
      ]),
    ),
    volumes: Object.fromEntries(volumes.map((v) => [v.name, clean({ external: v.external || undefined, driver: v.driver, driver_opts: nonEmpty(v.driver_opts), labels: nonEmpty(v.labels) })])),
  };
}

export const composeResources = (p: any): View => resourcesView(Object.values(p.networks ?? {}), Object.values(p.volumes ?? {}));
export const kontaResources = (p: ProjectModel): View => resourcesView(Object.values(p.networks), Object.values(p.volumes));
