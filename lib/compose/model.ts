// The normalised Compose model that lib/targets consume and `konta plan`/`status` show.
// Canonical forms only: sizes in bytes, durations in nanoseconds, ports and mounts in long form,
// maps instead of lists, keys sorted, defaults omitted. Two spellings of one service give the
// same JSON and therefore the same config hash.
//
// Paths inside the release are kept relative to the project folder ("./html") with a content
// digest, so that a new commit that leaves a service's files alone leaves its hash alone too.

export type Duration = number; // nanoseconds

export interface PortModel {
  target: number;
  /** host port or range ("8080", "8000-8010"); absent: the engine picks one */
  published?: string;
  host_ip?: string;
  protocol: "tcp" | "udp" | "sctp";
  mode?: "host" | "ingress";
  name?: string;
  app_protocol?: string;
}

export interface BindMount {
  type: "bind";
  /** "./x" = inside the project folder of the release; "/x" = host path */
  source: string;
  target: string;
  read_only?: boolean;
  /** sha256 of the content for sources inside the release */
  digest?: string;
  /** a SOPS-encrypted secret file of the release (relative path) whose decrypted copy `source` is */
  decrypted_from?: string;
  /** a secret or config from `content:` or `environment:`, which the deploy writes to `source` */
  written?: WrittenFile;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: "z" | "Z"; recursive?: string };
}

/** A post_start or pre_stop entry: an exec in the container, as Compose runs it. */
export interface LifecycleHook {
  command: string[];
  user?: string;
  privileged?: boolean;
  working_dir?: string;
  environment?: Record<string, string>;
}

export interface WrittenFile {
  /** the secret's or config's key in the project */
  name: string;
  from: "content" | "environment";
  /** owner and mode of the file in the container, as Compose sets them (default root, 0444) */
  uid: number;
  gid: number;
  mode: number;
}

export interface VolumeMount {
  type: "volume";
  /** key in the project's `volumes:`; absent for an anonymous volume */
  source?: string;
  target: string;
  read_only?: boolean;
  volume?: { nocopy?: boolean; subpath?: string };
}

export interface TmpfsMount {
  type: "tmpfs";
  target: string;
  read_only?: boolean;
  tmpfs?: { size?: number; mode?: number };
}

export type MountModel = BindMount | VolumeMount | TmpfsMount;

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
  gw_priority?: number;
  driver_opts?: Record<string, string>;
}

export interface DependsOn {
  condition: "service_started" | "service_healthy" | "service_completed_successfully";
  restart: boolean;
  required: boolean;
}

export interface HealthcheckModel {
  /** ["NONE"] when disabled; absent when only the image's timings are overridden */
  test?: string[];
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
}

export interface BuildModel {
  /** a folder (relative to the project's, or a host path), or a Git URL when `git` */
  context: string;
  /** the engine clones `context` (`https://host/repo.git#ref:dir`) */
  git?: true;
  dockerfile?: string;
  /** the Dockerfile's text, written in the Compose file */
  dockerfile_inline?: string;
  args?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  cache_from?: string[];
  network?: string;
  shm_size?: number;
  extra_hosts?: Record<string, string[]>;
  no_cache?: boolean;
  pull?: boolean;
  platform?: string;
  tags?: string[];
  isolation?: string;
}

export interface DeviceRequest {
  driver?: string;
  count?: number;
  device_ids?: string[];
  capabilities: string[][];
  options?: Record<string, string>;
}

export interface ThrottleDevice {
  path: string;
  rate: number;
}

export type RestartPolicy = { name: "no" | "always" | "unless-stopped" | "on-failure"; max_retries?: number };

export interface ServiceModel {
  name: string;
  image: string;
  build?: BuildModel;
  pull_policy: "always" | "missing" | "never" | "build";
  /** commands run in the container after it starts (a failure fails its gate) / before Konta stops it */
  post_start?: LifecycleHook[];
  pre_stop?: LifecycleHook[];
  /** pull_policy daily, weekly or every_<duration>: seconds after which the idle ticks pull the image again */
  pull_every?: number;
  /** Konta's own knobs, from labels */
  managed: boolean;
  stopped: boolean;
  replicas: number;
  update_order: "stop-first" | "start-first";
  depends_on?: Record<string, DependsOn>;

  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ports?: PortModel[];
  expose?: string[];
  volumes?: MountModel[];
  volumes_from?: string[];
  networks?: Record<string, ServiceNetwork>;
  network_mode?: string;
  links?: string[];
  external_links?: string[];
  healthcheck?: HealthcheckModel;
  restart?: RestartPolicy;
  container_name?: string;
  hostname?: string;
  domainname?: string;
  user?: string;
  working_dir?: string;
  stdin_open?: boolean;
  tty?: boolean;
  attach?: boolean;
  init?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  group_add?: string[];
  devices?: { source: string; target: string; permissions: string }[];
  device_cgroup_rules?: string[];
  gpus?: DeviceRequest[];
  dns?: string[];
  dns_opt?: string[];
  dns_search?: string[];
  extra_hosts?: Record<string, string[]>;
  mac_address?: string;
  ipc?: string;
  pid?: string;
  uts?: string;
  userns_mode?: string;
  cgroup?: "host" | "private";
  cgroup_parent?: string;
  isolation?: string;
  platform?: string;
  runtime?: string;
  tmpfs?: string[];
  shm_size?: number;
  stop_signal?: string;
  stop_grace_period?: Duration;
  sysctls?: Record<string, string>;
  ulimits?: Record<string, { soft: number; hard: number }>;
  storage_opt?: Record<string, string>;
  logging?: { driver?: string; options?: Record<string, string> };
  mem_limit?: number;
  mem_reservation?: number;
  memswap_limit?: number;
  mem_swappiness?: number;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  pids_limit?: number;
  cpus?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpu_rt_period?: number;
  cpu_rt_runtime?: number;
  cpu_count?: number;
  cpu_percent?: number;
  cpuset?: string;
  blkio_config?: {
    weight?: number;
    weight_device?: { path: string; weight: number }[];
    device_read_bps?: ThrottleDevice[];
    device_write_bps?: ThrottleDevice[];
    device_read_iops?: ThrottleDevice[];
    device_write_iops?: ThrottleDevice[];
  };
  /** file-based secrets and configs, as read-only bind mounts */
  secrets?: BindMount[];
  configs?: BindMount[];
  /** the parts of `deploy:` only a Swarm applies (a single engine ignores them; not in its hash) */
  swarm?: SwarmDeployModel;
}

export interface SwarmUpdateModel {
  parallelism?: number;
  delay?: Duration;
  failure_action?: "continue" | "rollback" | "pause";
  monitor?: Duration;
  max_failure_ratio?: number;
  order?: "stop-first" | "start-first";
}

export interface SwarmDeployModel {
  mode?: "replicated" | "global" | "replicated-job" | "global-job";
  endpoint_mode?: "vip" | "dnsrr";
  /** deploy.labels: on the service, not its containers */
  labels?: Record<string, string>;
  placement?: { constraints?: string[]; preferences?: string[]; max_replicas_per_node?: number };
  update_config?: SwarmUpdateModel;
  rollback_config?: SwarmUpdateModel;
  restart_policy?: { condition: "none" | "on-failure" | "any"; delay?: Duration; max_attempts?: number; window?: Duration };
  reservations?: { cpus?: number; generic_resources?: { kind: string; value: number }[] };
}

export interface NetworkModel {
  /** name in the engine */
  name: string;
  external: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: {
    driver?: string;
    config?: { subnet?: string; ip_range?: string; gateway?: string; aux_addresses?: Record<string, string> }[];
    options?: Record<string, string>;
  };
  internal?: boolean;
  attachable?: boolean;
  enable_ipv4?: boolean;
  enable_ipv6?: boolean;
  labels?: Record<string, string>;
}

export interface VolumeModel {
  name: string;
  external: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ProjectModel {
  name: string;
  /** project folder (absolute) the relative paths resolve against */
  dir: string;
  /** Compose files, relative to `dir`, in merge order */
  files: string[];
  /** files they include, relative to `dir` (to point at the file that defines a key) */
  included?: string[];
  services: Record<string, ServiceModel>;
  networks: Record<string, NetworkModel>;
  volumes: Record<string, VolumeModel>;
  /** the file's top-level `x-konta:` (extension.ts) */
  konta?: KontaExtension;
  warnings: string[];
}

export interface KontaExtension {
  /** projects of the release this one is applied after, each past its health gate (graph.ts) */
  depends_on?: string[];
  /** variables of this project's interpolation fetched from a secret manager: name -> "<provider>:<reference>" (never the value) */
  secrets?: Record<string, string>;
}
