// ServiceModel -> the body of POST /containers/create (Config, HostConfig, NetworkingConfig),
// plus the networks to connect after create (before API 1.44 a container is created on one
// network). Pure: the same inputs give the same body, which makes it testable without an engine.
import { isAbsolute, join } from "node:path";
import type { BindMount, MountModel, ProjectModel, ServiceModel, ServiceNetwork } from "../../compose/model.ts";
import { compareApi } from "../../docker/client.ts";
import { LABEL } from "../../base/labels.ts";
import { containerName } from "./labels.ts";
import { collate } from "../../base/collate.ts";

export interface SpecContext {
  project: ProjectModel;
  /** commit the container is created from */
  commit: string;
  imageId: string;
  configHash: string;
  apiVersion: string;
  /** create from the image ID, not the tag (restoring what ran before a tag moved) */
  pinImage?: boolean;
  /** the konta.instance label: which Konta instance owns the container */
  instance?: string;
}

export interface ContainerSpec {
  name: string;
  body: Record<string, unknown>;
  /** networks to connect after create, with their endpoint settings */
  connect: { network: string; endpoint: Record<string, unknown> }[];
  platform?: string;
}

export class EngineFeatureError extends Error {}

const apiAtLeast = (ctx: SpecContext, v: string) => compareApi(ctx.apiVersion, v) >= 0;
const seconds = (ns: number | undefined) => (ns === undefined ? undefined : Math.round(ns / 1e9));

function hostSource(m: BindMount, projectDir: string): string {
  return isAbsolute(m.source) ? m.source : join(projectDir, m.source);
}

function bindString(m: BindMount, projectDir: string): string {
  const opts = [m.read_only ? "ro" : "", m.bind?.selinux ?? "", m.bind?.propagation ?? ""].filter(Boolean).join(",");
  return `${hostSource(m, projectDir)}:${m.target}${opts ? `:${opts}` : ""}`;
}

function mountSpec(m: MountModel, project: ProjectModel): Record<string, unknown> {
  if (m.type === "bind") {
    return {
      Type: "bind",
      Source: hostSource(m, project.dir),
      Target: m.target,
      ReadOnly: m.read_only ?? false,
      ...(m.bind?.propagation ? { BindOptions: { Propagation: m.bind.propagation } } : {}),
    };
  }
  if (m.type === "tmpfs") {
    return {
      Type: "tmpfs",
      Target: m.target,
      ReadOnly: m.read_only ?? false,
      ...(m.tmpfs ? { TmpfsOptions: { SizeBytes: m.tmpfs.size, Mode: m.tmpfs.mode } } : {}),
    };
  }
  const volume = m.source ? project.volumes[m.source] : undefined;
  const opts: Record<string, unknown> = {};
  if (m.volume?.nocopy) opts.NoCopy = true;
  if (m.volume?.subpath) opts.Subpath = m.volume.subpath;
  return {
    Type: "volume",
    ...(volume ? { Source: volume.name } : {}),
    Target: m.target,
    ReadOnly: m.read_only ?? false,
    ...(Object.keys(opts).length ? { VolumeOptions: opts } : {}),
  };
}

function exposedPorts(s: ServiceModel): Record<string, object> | undefined {
  const out: Record<string, object> = {};
  for (const p of s.ports ?? []) out[`${p.target}/${p.protocol}`] = {};
  for (const e of s.expose ?? []) {
    const [range, proto = "tcp"] = e.split("/") as [string, string?];
    const [a, b = a] = range.split("-").map(Number) as [number, number?];
    for (let port = a; port <= (b as number); port++) out[`${port}/${proto}`] = {};
  }
  return Object.keys(out).length ? out : undefined;
}

function portBindings(s: ServiceModel): Record<string, { HostIp: string; HostPort: string }[]> | undefined {
  if (!s.ports?.length) return undefined;
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of s.ports) (out[`${p.target}/${p.protocol}`] ??= []).push({ HostIp: p.host_ip ?? "", HostPort: p.published ?? "" });
  return out;
}

/** The service's networks, highest priority first (the first is the one the container is created on). */
export function orderedNetworks(s: ServiceModel): [string, ServiceNetwork][] {
  return Object.entries(s.networks ?? {}).sort(([a, x], [b, y]) => (y.priority ?? 0) - (x.priority ?? 0) || collate(a, b));
}

/** An endpoint on one network; `name` is the container's (an alias too, as Compose gives it). */
function endpoint(s: ServiceModel, name: string, net: ServiceNetwork, ctx: SpecContext, primary: boolean): Record<string, unknown> {
  const ipam: Record<string, unknown> = {};
  if (net.ipv4_address) ipam.IPv4Address = net.ipv4_address;
  if (net.ipv6_address) ipam.IPv6Address = net.ipv6_address;
  if (net.link_local_ips) ipam.LinkLocalIPs = net.link_local_ips;
  const e: Record<string, unknown> = { Aliases: [name, s.name, ...(net.aliases ?? [])] };
  if (Object.keys(ipam).length) e.IPAMConfig = ipam;
  if (net.driver_opts) e.DriverOpts = net.driver_opts;
  const links = [...(s.links ?? []), ...(s.external_links ?? [])].map((l) => linkSpec(l, ctx.project));
  if (links.length) e.Links = links;
  const mac = net.mac_address ?? (primary ? s.mac_address : undefined);
  if (mac && apiAtLeast(ctx, "1.44")) e.MacAddress = mac;
  if (net.gw_priority !== undefined) {
    if (!apiAtLeast(ctx, "1.48")) throw new EngineFeatureError(`gw_priority needs Docker API 1.48+; this engine speaks ${ctx.apiVersion}`);
    e.GwPriority = net.gw_priority;
  }
  return e;
}

/** "db" -> "<project>-db-1:db"; "db:database" -> "<project>-db-1:database"; external names stay. */
function linkSpec(link: string, project: ProjectModel): string {
  const [target, alias = target] = link.split(":") as [string, string?];
  const svc = project.services[target];
  const name = svc ? containerName(project.name, target, 1, svc.container_name) : target;
  return `${name}:${alias}`;
}

function serviceContainerRef(ref: string, project: ProjectModel): string {
  const svc = project.services[ref];
  return svc ? containerName(project.name, ref, 1, svc.container_name) : ref;
}

/** network_mode, ipc or pid: `service:x` as the engine takes it, `container:<x's container>`. */
function namespaceMode(mode: string | undefined, project: ProjectModel): string | undefined {
  if (mode === undefined) return undefined;
  const m = /^service:(.+)$/.exec(mode);
  return m ? `container:${serviceContainerRef(m[1] as string, project)}` : mode;
}

function volumesFrom(s: ServiceModel, project: ProjectModel): string[] | undefined {
  return s.volumes_from?.map((v) => {
    const [kind, rest] = v.startsWith("container:") ? ["container", v.slice(10)] : ["service", v.replace(/^service:/, "")];
    const [name, mode] = rest.split(":") as [string, string?];
    const ref = kind === "service" ? serviceContainerRef(name, project) : name;
    return mode ? `${ref}:${mode}` : ref;
  });
}

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function containerLabels(s: ServiceModel, n: number, ctx: SpecContext): Record<string, string> {
  return {
    ...(s.labels ?? {}),
    [LABEL.project]: ctx.project.name,
    [LABEL.service]: s.name,
    [LABEL.number]: String(n),
    [LABEL.oneoff]: "False",
    [LABEL.workingDir]: ctx.project.dir,
    [LABEL.configFiles]: ctx.project.files.map((f) => join(ctx.project.dir, f)).join(","),
    [LABEL.configHash]: ctx.configHash,
    [LABEL.image]: ctx.imageId,
    [LABEL.commit]: ctx.commit,
    ...(ctx.instance ? { [LABEL.instance]: ctx.instance } : {}),
    ...(s.pre_stop ? { [LABEL.preStop]: JSON.stringify(s.pre_stop) } : {}),
  };
}

/** A mount of a container as the engine reports it (GET /containers/{id}/json). */
export interface InspectedMount {
  Type: string;
  Name?: string;
  Destination: string;
}

/**
 * What Docker Compose does on a recreate: the old container's anonymous volumes (`volumes:
 * ["/data"]`, an image's VOLUME) go to the new container at the same path, unless the new
 * definition mounts something else there. Without this a recreate starts from an empty volume and
 * the old one is orphaned: a postgres without a named volume would come back empty.
 */
export function inheritAnonymousVolumes(body: Record<string, unknown>, old: InspectedMount[], namedVolumes: Set<string>): void {
  const host = body.HostConfig as { Mounts?: Record<string, unknown>[]; Binds?: string[]; Tmpfs?: Record<string, string> };
  const mounts = host.Mounts ?? [];
  const taken = new Set<string>([
    ...mounts.filter((m) => m.Source !== undefined || m.Type !== "volume").map((m) => m.Target as string),
    ...(host.Binds ?? []).map((b) => b.split(":")[1] as string),
    ...Object.keys(host.Tmpfs ?? {}),
  ]);
  for (const m of old) {
    if (m.Type !== "volume" || !m.Name || namedVolumes.has(m.Name) || taken.has(m.Destination)) continue;
    const anonymous = mounts.find((x) => x.Type === "volume" && x.Source === undefined && x.Target === m.Destination);
    if (anonymous) anonymous.Source = m.Name;
    else mounts.push({ Type: "volume", Source: m.Name, Target: m.Destination });
    taken.add(m.Destination);
  }
  if (mounts.length) host.Mounts = mounts;
}

export function containerSpec(s: ServiceModel, n: number, ctx: SpecContext): ContainerSpec {
  const { project } = ctx;
  const name = containerName(project.name, s.name, n, s.container_name);
  const binds = [...(s.volumes ?? []), ...(s.secrets ?? []), ...(s.configs ?? [])];
  const shortBinds = binds.filter((m): m is BindMount => m.type === "bind" && m.bind?.create_host_path === true);
  const mounts = binds.filter((m) => !(m.type === "bind" && m.bind?.create_host_path === true));
  if (s.annotations && !apiAtLeast(ctx, "1.43")) throw new EngineFeatureError(`annotations need Docker API 1.43+; this engine speaks ${ctx.apiVersion}`);
  if (s.healthcheck?.start_interval !== undefined && !apiAtLeast(ctx, "1.44")) {
    throw new EngineFeatureError(`healthcheck.start_interval needs Docker API 1.44+; this engine speaks ${ctx.apiVersion}`);
  }
  const hc = s.healthcheck;
  const tmpfs = s.tmpfs?.length
    ? Object.fromEntries(
        s.tmpfs.map((t) => {
          const i = t.indexOf(":");
          return i < 0 ? [t, ""] : [t.slice(0, i), t.slice(i + 1)];
        }),
      )
    : undefined;

  const hostConfig = compact({
    Binds: shortBinds.length ? shortBinds.map((b) => bindString(b, project.dir)) : undefined,
    Mounts: mounts.length ? mounts.map((m) => mountSpec(m, project)) : undefined,
    Tmpfs: tmpfs,
    PortBindings: portBindings(s),
    PublishAllPorts: false,
    RestartPolicy: s.restart ? { Name: s.restart.name, MaximumRetryCount: s.restart.max_retries ?? 0 } : { Name: "no" },
    NetworkMode: namespaceMode(s.network_mode, project) ?? (orderedNetworks(s)[0] ? project.networks[orderedNetworks(s)[0]?.[0] as string]?.name : undefined),
    Privileged: s.privileged,
    ReadonlyRootfs: s.read_only,
    Init: s.init,
    CapAdd: s.cap_add,
    CapDrop: s.cap_drop,
    SecurityOpt: s.security_opt,
    GroupAdd: s.group_add,
    Devices: s.devices?.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions })),
    DeviceCgroupRules: s.device_cgroup_rules,
    DeviceRequests: s.gpus?.map((g) => compact({ Driver: g.driver, Count: g.count, DeviceIDs: g.device_ids, Capabilities: g.capabilities, Options: g.options })),
    Dns: s.dns,
    DnsOptions: s.dns_opt,
    DnsSearch: s.dns_search,
    ExtraHosts: s.extra_hosts ? Object.entries(s.extra_hosts).flatMap(([host, ips]) => ips.map((ip) => `${host}:${ip}`)) : undefined,
    IpcMode: namespaceMode(s.ipc, ctx.project),
    PidMode: namespaceMode(s.pid, ctx.project),
    UTSMode: s.uts,
    UsernsMode: s.userns_mode,
    CgroupnsMode: s.cgroup,
    CgroupParent: s.cgroup_parent,
    Isolation: s.isolation,
    Runtime: s.runtime,
    ShmSize: s.shm_size,
    Sysctls: s.sysctls,
    Ulimits: s.ulimits ? Object.entries(s.ulimits).map(([Name, l]) => ({ Name, Soft: l.soft, Hard: l.hard })) : undefined,
    StorageOpt: s.storage_opt,
    LogConfig: s.logging ? { Type: s.logging.driver ?? "", Config: s.logging.options ?? {} } : undefined,
    Memory: s.mem_limit,
    MemoryReservation: s.mem_reservation,
    MemorySwap: s.memswap_limit,
    MemorySwappiness: s.mem_swappiness,
    OomKillDisable: s.oom_kill_disable,
    OomScoreAdj: s.oom_score_adj,
    PidsLimit: s.pids_limit,
    NanoCpus: s.cpus === undefined ? undefined : Math.round(s.cpus * 1e9),
    CpuShares: s.cpu_shares,
    CpuQuota: s.cpu_quota,
    CpuPeriod: s.cpu_period,
    CpuRealtimePeriod: s.cpu_rt_period,
    CpuRealtimeRuntime: s.cpu_rt_runtime,
    CpuCount: s.cpu_count,
    CpuPercent: s.cpu_percent,
    CpusetCpus: s.cpuset,
    BlkioWeight: s.blkio_config?.weight,
    BlkioWeightDevice: s.blkio_config?.weight_device?.map((d) => ({ Path: d.path, Weight: d.weight })),
    BlkioDeviceReadBps: s.blkio_config?.device_read_bps?.map((d) => ({ Path: d.path, Rate: d.rate })),
    BlkioDeviceWriteBps: s.blkio_config?.device_write_bps?.map((d) => ({ Path: d.path, Rate: d.rate })),
    BlkioDeviceReadIOps: s.blkio_config?.device_read_iops?.map((d) => ({ Path: d.path, Rate: d.rate })),
    BlkioDeviceWriteIOps: s.blkio_config?.device_write_iops?.map((d) => ({ Path: d.path, Rate: d.rate })),
    VolumesFrom: volumesFrom(s, project),
    Annotations: s.annotations,
  });

  const nets = s.network_mode === undefined ? orderedNetworks(s) : [];
  const [primary, ...others] = nets;
  const body = compact({
    Image: ctx.pinImage ? ctx.imageId : s.image,
    Cmd: s.command ?? undefined,
    // `entrypoint: []` is sent as [] (as Compose does): the image's entrypoint is cleared, its command kept
    Entrypoint: s.entrypoint ?? undefined,
    Env: s.environment ? Object.entries(s.environment).flatMap(([k, v]) => (v === null ? [] : [`${k}=${v}`])) : undefined,
    Labels: containerLabels(s, n, ctx),
    ExposedPorts: exposedPorts(s),
    Hostname: s.hostname,
    Domainname: s.domainname,
    User: s.user,
    WorkingDir: s.working_dir,
    Tty: s.tty,
    OpenStdin: s.stdin_open,
    StopSignal: s.stop_signal,
    StopTimeout: seconds(s.stop_grace_period),
    MacAddress: s.mac_address && !apiAtLeast(ctx, "1.44") ? s.mac_address : undefined,
    Healthcheck: hc
      ? compact({
          Test: hc.test,
          Interval: hc.interval,
          Timeout: hc.timeout,
          Retries: hc.retries,
          StartPeriod: hc.start_period,
          StartInterval: hc.start_interval,
        })
      : undefined,
    HostConfig: hostConfig,
    NetworkingConfig: primary
      ? { EndpointsConfig: { [project.networks[primary[0]]?.name as string]: endpoint(s, name, primary[1], ctx, true) } }
      : undefined,
  });
  return {
    name,
    body,
    connect: others.map(([key, net]) => ({ network: project.networks[key]?.name as string, endpoint: endpoint(s, name, net, ctx, false) })),
    ...(s.platform ? { platform: s.platform } : {}),
  };
}
