// A Compose service as a Swarm service of a stack: the Engine API's ServiceSpec, converted the way
// `docker stack deploy` converts it (docker/cli cli/compose/convert/service.go), so that
// `docker stack ls/ps/services` show Konta's stacks as their own. Pure: no engine call here; the
// names of the stack's secrets and configs come from the caller.
import { ComposeKeyError } from "../../compose/errors.ts";
import type { BindMount, MountModel, ProjectModel, ServiceModel, SwarmUpdateModel } from "../../compose/model.ts";
import { collate } from "../../base/collate.ts";

export const STACK_NAMESPACE = "com.docker.stack.namespace";
export const STACK_IMAGE = "com.docker.stack.image";

/** A key of a service that a Swarm cannot apply: refused, naming the key and what to do. */
export class SwarmKeyError extends ComposeKeyError {
  constructor(
    readonly service: string,
    readonly key: string,
    readonly why: string,
  ) {
    super(why, ["services", service, ...key.split(".")]);
  }
}

// keys a Swarm service has no field for; docker stack deploy drops them with a warning, which on a
// cluster means a service that silently behaves otherwise than its file says
const NOT_ON_SWARM: [key: keyof ServiceModel, why: string][] = [
  ["build", "a Swarm pulls images on every node and builds none; build and push the image, then name it in image:"],
  ["container_name", "a Swarm names the tasks of a service itself"],
  ["privileged", "a Swarm service cannot run privileged; grant what it needs with cap_add"],
  ["network_mode", "a Swarm service joins networks: use networks:"],
  ["links", "use the service name on a shared network instead"],
  ["external_links", "use the service name on a shared network instead"],
  ["devices", "a Swarm service cannot map host devices"],
  ["volumes_from", "a Swarm service cannot share another container's volumes"],
  ["ipc", "a Swarm service cannot join another namespace"],
  ["pid", "a Swarm service cannot join another namespace"],
  ["uts", "a Swarm service cannot join another namespace"],
  ["userns_mode", "a Swarm service cannot set it"],
  ["cgroup_parent", "a Swarm service cannot set it"],
  ["security_opt", "a Swarm service cannot set it"],
  ["gpus", "use deploy.resources.reservations.generic_resources"],
  ["mac_address", "a Swarm service cannot set it"],
  ["dns_opt", "a Swarm service cannot set it"],
  ["shm_size", "a Swarm service cannot set it"],
  ["memswap_limit", "a Swarm service cannot set it"],
  ["mem_swappiness", "a Swarm service cannot set it"],
  ["cpu_shares", "use deploy.resources.limits.cpus"],
  ["cpu_quota", "use deploy.resources.limits.cpus"],
  ["cpuset", "a Swarm service cannot set it"],
  ["blkio_config", "a Swarm service cannot set it"],
  ["storage_opt", "a Swarm service cannot set it"],
  ["post_start", "a Swarm starts tasks on other nodes and runs no command in them; use the image's entrypoint"],
  ["pre_stop", "a Swarm stops tasks on other nodes and runs no command in them first; use stop_signal and stop_grace_period"],
];

function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

function update(u: SwarmUpdateModel | undefined, order: string | undefined) {
  if (!u && !order) return undefined;
  return compact({
    Parallelism: u?.parallelism ?? 1,
    Delay: u?.delay ?? 0,
    FailureAction: u?.failure_action,
    Monitor: u?.monitor ?? 0,
    MaxFailureRatio: u?.max_failure_ratio ?? 0,
    Order: u?.order ?? order,
  });
}

function restartPolicy(s: ServiceModel) {
  const rp = s.swarm?.restart_policy;
  if (rp) return compact({ Condition: rp.condition, Delay: rp.delay, MaxAttempts: rp.max_attempts, Window: rp.window });
  if (!s.restart) return undefined;
  return compact({ Condition: s.restart.name === "on-failure" ? "on-failure" : "any", MaxAttempts: s.restart.max_retries || undefined });
}

function mode(s: ServiceModel) {
  switch (s.swarm?.mode ?? "replicated") {
    case "global":
      return { Global: {} };
    case "global-job":
      return { GlobalJob: {} };
    case "replicated-job":
      return { ReplicatedJob: { MaxConcurrent: s.replicas, TotalCompletions: s.replicas } };
    default:
      return { Replicated: { Replicas: s.replicas } };
  }
}

function mount(project: ProjectModel, s: ServiceModel, m: MountModel) {
  if (m.type === "bind") {
    if (m.source.startsWith("./") || m.source === ".") {
      throw new SwarmKeyError(s.name, "volumes", `${m.source} is a file of the release, which exists on the manager only; put it in configs: (or secrets:)`);
    }
    return compact({ Type: "bind", Source: m.source, Target: m.target, ReadOnly: m.read_only, BindOptions: m.bind?.propagation ? { Propagation: m.bind.propagation } : undefined });
  }
  if (m.type === "tmpfs") {
    return compact({ Type: "tmpfs", Target: m.target, ReadOnly: m.read_only, TmpfsOptions: m.tmpfs ? compact({ SizeBytes: m.tmpfs.size, Mode: m.tmpfs.mode }) : undefined });
  }
  const out: Record<string, unknown> = { Type: "volume", Target: m.target };
  if (m.read_only) out.ReadOnly = true;
  if (!m.source) return out;
  const v = project.volumes[m.source];
  out.Source = v?.name ?? `${project.name}_${m.source}`;
  const options: Record<string, unknown> = compact({ NoCopy: m.volume?.nocopy, Subpath: m.volume?.subpath });
  if (v && !v.external) {
    options.Labels = { ...(v.labels ?? {}), [STACK_NAMESPACE]: project.name };
    if (v.driver || v.driver_opts) options.DriverConfig = compact({ Name: v.driver, Options: v.driver_opts });
  }
  out.VolumeOptions = options;
  return out;
}

/** The Swarm object (secret or config) a file of the release became: named by its content, and its ID. */
export type ObjectRefs = (kind: "secret" | "config", file: BindMount) => { name: string; id: string };

function fileRef(kind: "secret" | "config", file: BindMount, refs: ObjectRefs) {
  // a secret's target is a name under /run/secrets; a config's is a path
  const target = kind === "secret" ? file.target.replace(/^\/run\/secrets\//, "") : file.target;
  const { name, id } = refs(kind, file);
  const File = { Name: target, UID: String(file.written?.uid ?? 0), GID: String(file.written?.gid ?? 0), Mode: file.written?.mode ?? 0o444 };
  return kind === "secret" ? { File, SecretID: id, SecretName: name } : { File, ConfigID: id, ConfigName: name };
}

/** docker/cli opts.EffectiveCapAddCapDrop: CAP_-prefixed, ALL wins, a cap both added and dropped is added. */
function capabilities(add: string[] = [], drop: string[] = []): { add: string[]; drop: string[] } {
  const norm = (c: string) => {
    const u = c.trim().toUpperCase();
    return u === "ALL" || u === "RESET" || u.startsWith("CAP_") ? u : `CAP_${u}`;
  };
  let adds = new Set(add.map(norm));
  let drops = new Set(drop.map(norm));
  if (adds.has("ALL")) adds = new Set(["ALL"]);
  if (drops.has("ALL")) drops = new Set(["ALL"]);
  return {
    add: [...adds].filter((c) => c !== "RESET").sort(),
    drop: [...drops].filter((c) => c !== "RESET" && !adds.has(c)).sort(),
  };
}

export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: Record<string, unknown>;
  Mode: Record<string, unknown>;
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
  EndpointSpec: Record<string, unknown>;
}

/** `service` of `project` as the ServiceSpec of `<project>_<service>` in stack `<project>`. */
export function serviceSpec(project: ProjectModel, s: ServiceModel, refs: ObjectRefs): SwarmServiceSpec {
  for (const [key, why] of NOT_ON_SWARM) if (s[key] !== undefined) throw new SwarmKeyError(s.name, key, why);
  const stack = project.name;
  const env = Object.entries(s.environment ?? {}).map(([k, v]) => (v === null ? k : `${k}=${v}`)).sort();
  const networks = Object.entries(s.networks ?? {})
    .map(([key, n]) => {
      const target = project.networks[key]?.name ?? `${stack}_${key}`;
      return compact({ Target: target, Aliases: [...(n.aliases ?? []), s.name], DriverOpts: n.driver_opts });
    })
    .sort((a, b) => (a.Target < b.Target ? -1 : 1));
  const h = s.healthcheck;
  const limits = compact({ NanoCPUs: s.cpus !== undefined ? Math.round(s.cpus * 1e9) : undefined, MemoryBytes: s.mem_limit, Pids: s.pids_limit });
  const reservations = compact({
    NanoCPUs: s.swarm?.reservations?.cpus !== undefined ? Math.round(s.swarm.reservations.cpus * 1e9) : undefined,
    MemoryBytes: s.mem_reservation,
    GenericResources: s.swarm?.reservations?.generic_resources?.map((g) => ({ DiscreteResourceSpec: { Kind: g.kind, Value: g.value } })),
  });
  const placement = s.swarm?.placement;
  const caps = capabilities(s.cap_add, s.cap_drop);
  const containerSpec = compact({
    Image: s.image,
    Command: s.entrypoint ?? undefined,
    Args: s.command ?? undefined,
    Hostname: s.hostname,
    Hosts: Object.entries(s.extra_hosts ?? {}).flatMap(([host, ips]) => ips.map((ip) => `${ip} ${host}`)),
    DNSConfig: s.dns || s.dns_search ? compact({ Nameservers: s.dns, Search: s.dns_search }) : undefined,
    Healthcheck: h
      ? h.test?.[0] === "NONE"
        ? { Test: ["NONE"] }
        : compact({ Test: h.test, Interval: h.interval ?? 0, Timeout: h.timeout ?? 0, Retries: h.retries ?? 0, StartPeriod: h.start_period ?? 0, StartInterval: h.start_interval ?? 0 })
      : undefined,
    Env: env,
    Labels: { ...(s.labels ?? {}), [STACK_NAMESPACE]: stack },
    Dir: s.working_dir,
    User: s.user,
    Groups: s.group_add,
    Mounts: (s.volumes ?? []).map((m) => mount(project, s, m)),
    StopGracePeriod: s.stop_grace_period,
    StopSignal: s.stop_signal,
    TTY: s.tty,
    OpenStdin: s.stdin_open,
    Secrets: (s.secrets ?? []).map((f) => fileRef("secret", f, refs)).sort((a, b) => collate(String(a.SecretName), String(b.SecretName))),
    Configs: (s.configs ?? []).map((f) => fileRef("config", f, refs)).sort((a, b) => collate(String(a.ConfigName), String(b.ConfigName))),
    ReadOnly: s.read_only,
    Init: s.init,
    Sysctls: s.sysctls,
    CapabilityAdd: caps.add,
    CapabilityDrop: caps.drop,
    Ulimits: Object.entries(s.ulimits ?? {})
      .map(([n, u]) => ({ Name: n, Soft: u.soft, Hard: u.hard }))
      .sort((a, b) => collate(a.Name, b.Name)),
    OomScoreAdj: s.oom_score_adj,
    Isolation: s.isolation,
    // as the Docker CLI sends it: `docker service inspect` shows the same for both
    Privileges: { CredentialSpec: null, SELinuxContext: null },
  });
  return compact({
    Name: `${stack}_${s.name}`,
    Labels: { ...(s.swarm?.labels ?? {}), [STACK_NAMESPACE]: stack, [STACK_IMAGE]: s.image },
    TaskTemplate: compact({
      ContainerSpec: containerSpec,
      LogDriver: s.logging ? compact({ Name: s.logging.driver, Options: s.logging.options }) : undefined,
      Resources: compact({ Limits: Object.keys(limits).length ? limits : undefined, Reservations: Object.keys(reservations).length ? reservations : undefined }),
      RestartPolicy: restartPolicy(s),
      Placement: compact({ Constraints: placement?.constraints, Preferences: placement?.preferences?.map((p) => ({ Spread: { SpreadDescriptor: p } })), MaxReplicas: placement?.max_replicas_per_node }),
      Networks: networks,
    }),
    Mode: mode(s),
    UpdateConfig: update(s.swarm?.update_config, s.update_order === "start-first" ? "start-first" : undefined),
    RollbackConfig: update(s.swarm?.rollback_config, undefined),
    EndpointSpec: compact({
      Mode: s.swarm?.endpoint_mode,
      Ports: (s.ports ?? [])
        .map((p) => {
          if (p.published?.includes("-")) throw new SwarmKeyError(s.name, "ports", `the range ${p.published} is not published by a Swarm service; list the ports one by one`);
          // docker stack deploy drops the address with a warning: a port meant for 127.0.0.1 would answer on every address of every node
          if (p.host_ip) throw new SwarmKeyError(s.name, "ports", `a Swarm publishes ${p.published ?? p.target} on every address of its nodes and cannot bind it to ${p.host_ip}; drop the address (and firewall the port), or deploy to one engine`);
          return p;
        })
        .map((p) => compact({ Protocol: p.protocol, TargetPort: p.target, PublishedPort: p.published ? Number(p.published) : undefined, PublishMode: p.mode ?? "ingress" }))
        // docker/cli convertEndpointSpec orders them by published port
        .sort((a, b) => Number(a.PublishedPort ?? 0) - Number(b.PublishedPort ?? 0)),
    }),
  });
}

/** Networks of a stack: overlay unless the file says otherwise, labelled with the stack. */
export function networkSpecs(project: ProjectModel, used: Set<string>) {
  return Object.entries(project.networks)
    .filter(([key, n]) => used.has(key) && !n.external)
    .map(([, n]) =>
      compact({
        Name: n.name,
        Driver: n.driver ?? "overlay",
        Options: n.driver_opts,
        Labels: { ...(n.labels ?? {}), [STACK_NAMESPACE]: project.name },
        Attachable: n.attachable,
        Internal: n.internal,
        IPAM: n.ipam ? compact({ Driver: n.ipam.driver ?? "default", Config: n.ipam.config?.map((c) => compact({ Subnet: c.subnet, IPRange: c.ip_range, Gateway: c.gateway })) }) : undefined,
      }),
    );
}
