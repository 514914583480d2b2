// Merged canonical Compose -> the typed, sorted model (model.ts). Units are converted, defaults
// dropped, references checked (networks, volumes, secrets, depends_on), env files read, and the
// host's policy applied (privileged containers, bind roots).
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { isInside } from "../base/fsutil.ts";
import { LABEL } from "../base/labels.ts";
import { redact } from "../base/redact.ts";
import { pinnedCommit, scalarString, toMap, type Raw } from "./canonical.ts";
import { envFileVars } from "./decrypt.ts";
import { kontaExtension } from "./extension.ts";
import { at, ComposeKeyError, type KeyPath, LockedSopsFile } from "./errors.ts";
import { bytesOrUnlimited, command, deviceRequests, healthcheck, micros, nonEmpty, number, restartPolicy, sortedMap, sortedUnique, stringMap, swarmDeploy } from "./fields.ts";
import { exists, isDirectory, readText } from "./inputs.ts";
import type { Lookup } from "./interpolate.ts";
import type { NormalizeContext } from "./options.ts";
import type { BindMount, DependsOn, LifecycleHook, NetworkModel, ProjectModel, ServiceModel, ServiceNetwork, VolumeModel } from "./model.ts";
import { Mounts } from "./mounts.ts";
import { checkApiSocketPolicy, checkServicePolicy, checkVolumePolicy } from "./policy.ts";
import { sortPorts } from "./ports.ts";
import { addImplicitDependencies, checkReferences } from "./references.ts";
import { SWARM_ONLY } from "./schema.ts";
import { parseBytes, parseDuration } from "./units.ts";
import { collate } from "../base/collate.ts";

// use_api_socket: the engine's default socket, at the same path in the container (as Compose)
const DOCKER_SOCKET = "/var/run/docker.sock";

export class Normalizer {
  readonly networks: Record<string, NetworkModel> = {};
  readonly volumes: Record<string, VolumeModel> = {};
  private usedNetworks = new Set<string>();
  private readonly mounts: Mounts;

  constructor(
    private readonly raw: Raw,
    private readonly ctx: NormalizeContext,
  ) {
    this.mounts = new Mounts(raw, ctx, (key) => this.volume(key));
  }

  private volume(key: string): void {
    if (this.volumes[key]) return;
    const def: Raw = this.raw.volumes?.[key] ?? {};
    const external = def.external === true;
    const v: VolumeModel = { name: def.name ?? (external ? key : `${this.ctx.project}_${key}`), external };
    if (def.driver) v.driver = def.driver;
    if (nonEmpty(def.driver_opts)) v.driver_opts = stringMap(def.driver_opts);
    if (nonEmpty(def.labels)) v.labels = stringMap(def.labels);
    this.volumes[key] = v;
  }

  private network(key: string, path: KeyPath): void {
    this.usedNetworks.add(key);
    if (this.networks[key]) return;
    const declared = this.raw.networks && key in this.raw.networks;
    if (!declared && key !== "default") throw new ComposeKeyError(`network "${key}" is not declared in the top-level networks: section`, path);
    const def: Raw = this.raw.networks?.[key] ?? {};
    const external = def.external === true;
    const n: NetworkModel = { name: def.name ?? (external ? key : `${this.ctx.project}_${key}`), external };
    for (const k of ["driver", "internal", "attachable", "enable_ipv4", "enable_ipv6"] as const) if (def[k] !== undefined) (n as any)[k] = def[k];
    if (nonEmpty(def.driver_opts)) n.driver_opts = stringMap(def.driver_opts);
    if (nonEmpty(def.labels)) n.labels = stringMap(def.labels);
    if (def.ipam) {
      n.ipam = {};
      if (def.ipam.driver) n.ipam.driver = def.ipam.driver;
      if (def.ipam.config?.length) n.ipam.config = def.ipam.config;
      if (nonEmpty(def.ipam.options)) n.ipam.options = stringMap(def.ipam.options);
    }
    this.networks[key] = n;
  }

  /** `KEY` without a value takes the variable's value, or is left out when it is not set. */
  private resolveNulls(m: Record<string, string | null>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) {
      const value = v ?? this.ctx.env(k);
      if (value !== undefined) out[k] = value;
    }
    return sortedMap(out);
  }

  private readEnvFiles(files: Raw[]): Record<string, string> {
    const vars: Record<string, string> = Object.create(null);
    files.forEach((f, i) =>
      at(["env_file", i], () => {
        if (!isInside(this.ctx.repoRoot, f.path)) this.mounts.checkHostPath(f.path);
        if (!exists(f.path)) {
          if (f.required === false) return;
          throw new Error(`env file ${this.mounts.displayPath(f.path)} does not exist (mark it required: false if it is optional)`);
        }
        if (isDirectory(f.path)) throw new Error(`env file ${this.mounts.displayPath(f.path)} is a directory`);
        // earlier env files first, then the project's variables, then this file's lines (compose-go's order)
        Object.assign(vars, this.readDotenv(f.path, "env file", (name) => vars[name] ?? this.ctx.env(name)));
      }),
    );
    return vars;
  }

  /** An env or label file; its errors name the file (never a line of it: it may be a host file). */
  private readDotenv(file: string, what: string, lookup?: Lookup): Record<string, string> {
    return envFileVars(file, readText(file), `${what} ${this.mounts.displayPath(file)}`, this.ctx.sops, lookup);
  }

  private warnSwarmKeys(name: string, deploy: Raw | undefined): void {
    if (!deploy) return;
    for (const key of SWARM_ONLY) {
      const parts = key.split(".").slice(1);
      let v: any = deploy;
      for (const p of parts) v = v?.[p];
      if (v === undefined) continue;
      if (key === "deploy.mode" && (v === "replicated" || v === "replicated-job")) continue;
      this.ctx.warn(`services.${name}.${key} is Swarm-only; ignored on a single engine (as Docker Compose does)`);
    }
  }

  service(name: string, s: Raw): ServiceModel {
    const { project } = this.ctx;
    const deploy: Raw | undefined = s.deploy;
    this.warnSwarmKeys(name, deploy);
    if (!s.image && !s.build) throw new ComposeKeyError(`service "${name}" has neither image nor build`, []);

    const labels: Record<string, string> = Object.create(null);
    for (const [i, f] of ((s.label_file as string[] | undefined) ?? []).entries()) {
      at(["label_file", i], () => {
        if (!isInside(this.ctx.repoRoot, f)) this.mounts.checkHostPath(f);
        if (!exists(f)) throw new Error(`label file ${this.mounts.displayPath(f)} does not exist`);
        Object.assign(labels, this.readDotenv(f, "label file"));
      });
    }
    Object.assign(labels, stringMap(s.labels ?? {}));

    const env: Record<string, string | null> = Object.create(null);
    Object.assign(env, this.readEnvFiles(s.env_file ?? []));
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      const value = v ?? this.ctx.env(k);
      if (value !== undefined) env[k] = value as string;
      else delete env[k];
    }

    const replicasFromDeploy = deploy?.replicas;
    if (replicasFromDeploy !== undefined && s.scale !== undefined && replicasFromDeploy !== s.scale) {
      throw new ComposeKeyError(`scale (${s.scale}) and deploy.replicas (${replicasFromDeploy}) disagree; set one`, ["scale"]);
    }
    const replicas = (replicasFromDeploy ?? s.scale ?? 1) as number;
    if (replicas < 0) throw new ComposeKeyError("replicas cannot be negative", ["deploy", "replicas"]);

    let pullPolicy = (s.pull_policy ?? (s.build && !s.image ? "build" : "missing")) as string;
    if (pullPolicy === "if_not_present") pullPolicy = "missing";
    const pullEvery = at(["pull_policy"], () => pullInterval(pullPolicy));
    // periodic: pulled when missing, and again by the idle ticks once that long has passed
    if (pullEvery !== undefined) pullPolicy = "missing";
    if (!["always", "missing", "never", "build"].includes(pullPolicy)) {
      throw new ComposeKeyError(`pull_policy "${pullPolicy}" is not supported (always, missing, never, build, daily, weekly, every_<duration>)`, ["pull_policy"]);
    }

    const model: ServiceModel = {
      name,
      image: s.image ?? `${project}-${name}`,
      pull_policy: pullPolicy as ServiceModel["pull_policy"],
      ...(pullEvery !== undefined ? { pull_every: pullEvery } : {}),
      managed: labels[LABEL.managed] === "true",
      stopped: labels[LABEL.stopped] === "true",
      replicas,
      // konta.rolling: "true" is the original Konta's zero-downtime switch
      update_order: deploy?.update_config?.order ?? (labels[LABEL.rolling] === "true" ? "start-first" : "stop-first"),
    };

    const swarm = at(["deploy"], () => swarmDeploy(deploy));
    if (swarm) model.swarm = swarm;
    if (s.build) model.build = at(["build"], () => this.build(s.build));
    if (s.depends_on) {
      model.depends_on = sortedMap(
        Object.fromEntries(
          Object.entries(s.depends_on as Record<string, Raw>).map(([dep, d]): [string, DependsOn] => [
            dep,
            { condition: d.condition ?? "service_started", restart: d.restart ?? false, required: d.required ?? true },
          ]),
        ),
      );
    }
    // null resets to the image's default, the same as leaving the key out
    const cmd = at(["command"], () => command(s.command));
    if (cmd) model.command = cmd;
    const entrypoint = at(["entrypoint"], () => command(s.entrypoint));
    if (entrypoint) model.entrypoint = entrypoint;
    for (const key of ["post_start", "pre_stop"] as const) {
      if (s[key]?.length) model[key] = (s[key] as Raw[]).map((h, i) => at([key, i], () => this.hook(h)));
    }
    if (nonEmpty(env)) model.environment = sortedMap(env);
    if (nonEmpty(labels)) model.labels = sortedMap(labels);
    if (nonEmpty(s.annotations)) model.annotations = stringMap(s.annotations);
    if (s.ports?.length) model.ports = sortPorts(s.ports);
    if (s.expose?.length) model.expose = sortedUnique(s.expose);
    if (s.volumes?.length || s.use_api_socket) {
      const mounts = ((s.volumes ?? []) as Raw[]).map((v, i) => this.mounts.mount(v, i));
      if (s.use_api_socket) mounts.push(at(["use_api_socket"], () => this.apiSocket(mounts)));
      model.volumes = mounts.sort((a, b) => collate(a.target, b.target));
    }
    if (s.volumes_from?.length) model.volumes_from = [...s.volumes_from];

    if (s.network_mode !== undefined) {
      if (s.networks) throw new ComposeKeyError("network_mode and networks cannot be used together", ["network_mode"]);
      model.network_mode = s.network_mode;
    } else {
      const nets: Record<string, Raw> = s.networks ?? { default: {} };
      model.networks = sortedMap(
        Object.fromEntries(
          Object.entries(nets).map(([key, n]): [string, ServiceNetwork] => {
            this.network(key, ["networks", key]);
            const out: ServiceNetwork = {};
            if (n.aliases?.length) out.aliases = sortedUnique(n.aliases);
            for (const k of ["ipv4_address", "ipv6_address", "mac_address", "priority", "gw_priority"] as const) if (n[k] !== undefined) (out as any)[k] = n[k];
            if (n.link_local_ips?.length) out.link_local_ips = sortedUnique(n.link_local_ips);
            if (nonEmpty(n.driver_opts)) out.driver_opts = stringMap(n.driver_opts);
            return [key, out];
          }),
        ),
      );
    }
    if (s.links?.length) model.links = sortedUnique(s.links);
    if (s.external_links?.length) model.external_links = sortedUnique(s.external_links);

    const hc = at(["healthcheck"], () => healthcheck(s.healthcheck));
    if (hc) model.healthcheck = hc;
    const restart = at(["restart"], () => restartPolicy(s.restart, deploy));
    if (restart) model.restart = restart;

    for (const key of [
      "container_name", "hostname", "domainname", "user", "working_dir", "mac_address", "ipc", "pid", "uts",
      "userns_mode", "cgroup", "cgroup_parent", "isolation", "platform", "runtime", "stop_signal", "cpuset",
    ] as const) {
      if (s[key] !== undefined && s[key] !== null) (model as any)[key] = scalarString(s[key]);
    }
    // false is the engine's default for these: leaving it out is the same container
    for (const key of ["stdin_open", "tty", "privileged", "read_only", "oom_kill_disable"] as const) if (s[key] === true) model[key] = true;
    if (s.init !== undefined) model.init = s.init;
    if (s.attach === false) model.attach = false;
    for (const key of ["cap_add", "cap_drop", "security_opt", "dns", "dns_opt", "dns_search", "tmpfs", "device_cgroup_rules", "group_add"] as const) {
      if (s[key]?.length) (model as any)[key] = sortedUnique((s[key] as unknown[]).map(scalarString));
    }
    if (s.devices?.length) {
      model.devices = [...(s.devices as ServiceModel["devices"] & object)].sort((a, b) => collate(a.target, b.target));
    }
    const gpus = [
      ...(s.gpus === "all" ? [{ capabilities: ["gpu"], count: "all" }] : (s.gpus ?? [])),
      ...(deploy?.resources?.reservations?.devices ?? []),
    ];
    if (gpus.length) model.gpus = deviceRequests(gpus);
    if (nonEmpty(s.extra_hosts)) model.extra_hosts = sortedMap(s.extra_hosts);
    if (nonEmpty(s.sysctls)) model.sysctls = stringMap(s.sysctls);
    if (nonEmpty(s.storage_opt)) model.storage_opt = stringMap(s.storage_opt);
    if (nonEmpty(s.ulimits)) model.ulimits = sortedMap(s.ulimits);
    if (s.logging) {
      const logging: ServiceModel["logging"] = {};
      if (s.logging.driver) logging.driver = s.logging.driver;
      if (nonEmpty(s.logging.options)) logging.options = stringMap(s.logging.options);
      if (nonEmpty(logging)) model.logging = logging;
    }
    this.resources(s, model);
    if (s.secrets?.length) model.secrets = (s.secrets as Raw[]).map((r, i) => this.mounts.fileMount("secrets", r, i)).sort((a, b) => collate(a.target, b.target));
    if (s.configs?.length) model.configs = (s.configs as Raw[]).map((r, i) => this.mounts.fileMount("configs", r, i)).sort((a, b) => collate(a.target, b.target));

    this.checkPolicy(model);
    return model;
  }

  /**
   * use_api_socket: the engine's socket at /var/run/docker.sock, as a bind the service could have
   * written: root on the host, so only where the policy allows privileged services and that bind.
   * Konta's registry credentials are not handed over (Compose copies the CLI's into the container).
   */
  private apiSocket(mounts: ServiceModel["volumes"] & object): BindMount {
    checkApiSocketPolicy(this.ctx.policy);
    this.mounts.checkHostPath(DOCKER_SOCKET);
    if (mounts.some((m) => m.target === DOCKER_SOCKET)) throw new Error(`use_api_socket and a volume at ${DOCKER_SOCKET}: keep one`);
    return { type: "bind", source: DOCKER_SOCKET, target: DOCKER_SOCKET };
  }

  private hook(h: Raw): LifecycleHook {
    const cmd = command(h.command);
    if (!cmd?.length) throw new Error("command must not be empty");
    const out: LifecycleHook = { command: cmd };
    if (h.user !== undefined) out.user = String(h.user);
    if (h.privileged) out.privileged = true;
    if (h.working_dir !== undefined) out.working_dir = String(h.working_dir);
    const env = h.environment === undefined ? undefined : this.resolveNulls(toMap(h.environment));
    if (env && nonEmpty(env)) out.environment = env;
    return out;
  }

  private build(b: Raw): ServiceModel["build"] {
    const out: NonNullable<ServiceModel["build"]> = { context: b.context };
    if (b.git) {
      if (b.dockerfile_inline !== undefined) throw new ComposeKeyError("dockerfile_inline cannot go with a Git context (the engine clones the context itself); commit the Dockerfile there", ["build"]);
      out.git = true;
      if (!pinnedCommit(b.context)) this.ctx.warn(`build context ${redact(b.context)} names no commit: it is built again at every deploy; end it with #<commit sha> to build it once`);
    } else {
      const inRepo = isInside(this.ctx.repoRoot, b.context);
      if (!inRepo) this.mounts.checkHostPath(b.context);
      out.context = inRepo ? this.mounts.rel(b.context) : b.context;
    }
    if (b.dockerfile !== undefined && b.dockerfile_inline !== undefined) throw new ComposeKeyError("dockerfile and dockerfile_inline exclude each other (as in Compose); keep one", ["build"]);
    for (const k of ["dockerfile", "dockerfile_inline", "target", "network", "isolation"] as const) if (b[k] !== undefined) out[k] = b[k];
    for (const k of ["no_cache", "pull"] as const) if (b[k] !== undefined) out[k] = b[k];
    if (nonEmpty(b.args)) out.args = this.resolveNulls(b.args);
    if (nonEmpty(b.labels)) out.labels = stringMap(b.labels);
    if (b.cache_from?.length) out.cache_from = [...b.cache_from];
    if (b.tags?.length) out.tags = [...b.tags];
    if (b.shm_size !== undefined) out.shm_size = parseBytes(b.shm_size);
    if (nonEmpty(b.extra_hosts)) out.extra_hosts = sortedMap(b.extra_hosts);
    if (b.platforms?.length) {
      if (b.platforms.length > 1) throw new Error("build.platforms with more than one platform needs BuildKit; Konta builds for one platform");
      out.platform = b.platforms[0];
    }
    return out;
  }

  private resources(s: Raw, model: ServiceModel): void {
    const limits: Raw = s.deploy?.resources?.limits ?? {};
    const reservations: Raw = s.deploy?.resources?.reservations ?? {};
    const pick = (key: string, top: unknown, fromDeploy: unknown, path: KeyPath, parse: (v: any) => number) => {
      const a = top === undefined ? undefined : at(path, () => parse(top));
      const b = fromDeploy === undefined ? undefined : at(["deploy", "resources"], () => parse(fromDeploy));
      if (a !== undefined && b !== undefined && a !== b) {
        throw new ComposeKeyError(`${key} (${a}) and deploy.resources (${b}) disagree; set one`, path);
      }
      const v = a ?? b;
      if (v !== undefined) (model as any)[key] = v;
    };
    pick("mem_limit", s.mem_limit, limits.memory, ["mem_limit"], bytesOrUnlimited);
    pick("mem_reservation", s.mem_reservation, reservations.memory, ["mem_reservation"], bytesOrUnlimited);
    pick("cpus", s.cpus, limits.cpus, ["cpus"], (v) => number(v, "cpus"));
    pick("pids_limit", s.pids_limit, limits.pids, ["pids_limit"], (v) => number(v, "pids_limit"));
    if (s.memswap_limit !== undefined) model.memswap_limit = at(["memswap_limit"], () => bytesOrUnlimited(s.memswap_limit));
    if (s.shm_size !== undefined) model.shm_size = at(["shm_size"], () => parseBytes(s.shm_size));
    if (s.stop_grace_period !== undefined) model.stop_grace_period = at(["stop_grace_period"], () => parseDuration(s.stop_grace_period));
    for (const key of ["mem_swappiness", "oom_score_adj", "cpu_shares", "cpu_count", "cpu_percent"] as const) {
      if (s[key] !== undefined) (model as any)[key] = at([key], () => number(s[key], key));
    }
    for (const key of ["cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime"] as const) {
      if (s[key] !== undefined) (model as any)[key] = at([key], () => micros(s[key]));
    }
    if (s.blkio_config) {
      const b = s.blkio_config;
      const rate = (list: Raw[] | undefined, parse: (v: any) => number) =>
        list?.map((d) => ({ path: d.path, rate: parse(d.rate) })).sort((x, y) => collate(x.path, y.path));
      const out: NonNullable<ServiceModel["blkio_config"]> = {};
      if (b.weight !== undefined) out.weight = b.weight;
      if (b.weight_device) out.weight_device = [...b.weight_device].sort((x: Raw, y: Raw) => collate(x.path, y.path));
      const bps = rate(b.device_read_bps, parseBytes);
      if (bps) out.device_read_bps = bps;
      const wbps = rate(b.device_write_bps, parseBytes);
      if (wbps) out.device_write_bps = wbps;
      const riops = rate(b.device_read_iops, (v) => number(v, "iops"));
      if (riops) out.device_read_iops = riops;
      const wiops = rate(b.device_write_iops, (v) => number(v, "iops"));
      if (wiops) out.device_write_iops = wiops;
      if (nonEmpty(out)) model.blkio_config = out;
    }
  }

  private checkPolicy(model: ServiceModel): void {
    checkServicePolicy(model, this.ctx.policy);
  }

  /** Everything, with cross-service checks. */
  project(files: string[]): ProjectModel {
    const services: Record<string, ServiceModel> = {};
    for (const [name, s] of Object.entries((this.raw.services ?? {}) as Raw)) {
      try {
        services[name] = this.service(name, s);
      } catch (err) {
        if (err instanceof ComposeKeyError) throw new ComposeKeyError(err.message, ["services", name, ...err.path], err.file, err.unknown);
        if (err instanceof LockedSopsFile) throw err;
        throw new ComposeKeyError((err as Error).message, ["services", name], undefined, (err as { unknown?: string }).unknown);
      }
    }
    checkReferences(services);
    for (const svc of Object.values(services)) addImplicitDependencies(svc);
    for (const key of Object.keys(this.raw.volumes ?? {})) this.volume(key);
    for (const [key, v] of Object.entries(this.volumes)) at(["volumes", key], () => checkVolumePolicy(v, this.ctx.repoRoot, this.ctx.policy));
    const konta = kontaExtension(this.raw["x-konta"]);
    return {
      name: this.ctx.project,
      dir: this.ctx.dir,
      files,
      services: sortedMap(services),
      networks: sortedMap(Object.fromEntries(Object.entries(this.networks).filter(([k]) => this.usedNetworks.has(k)))),
      volumes: sortedMap(this.volumes),
      ...(konta ? { konta } : {}),
      warnings: [],
    };
  }
}

/**
 * Seconds between pulls of `daily`, `weekly` and `every_<duration>` (Go units, and `d`, `w`);
 * undefined for the other policies.
 */
function pullInterval(policy: string): number | undefined {
  if (policy === "daily") return 86_400;
  if (policy === "weekly") return 7 * 86_400;
  if (!policy.startsWith("every_")) return undefined;
  const text = policy.slice("every_".length).replace(/(\d+)([wd])/g, (_m, n: string, u: string) => `${Number(n) * (u === "w" ? 168 : 24)}h`);
  const seconds = Math.floor(parseDuration(text) / 1e9);
  if (seconds < 1) throw new Error(`pull_policy "${policy}": the interval must be at least 1s`);
  return seconds;
}
