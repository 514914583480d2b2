// The Compose file as Konta accepts it: a JSON schema written from the Compose specification,
// limited to what Konta applies on a single engine. It is validated after interpolation (types
// coerced as Compose does: "3" -> 3 where a number is expected). A key that is not here is an
// error naming file and key; Compose keys Konta deliberately does not apply get their own message
// (UNSUPPORTED), and Swarm-only keys a single engine ignores get a warning (SWARM_ONLY).
// Compiled ahead of time into lib/generated/compose-validator.js by packaging/validators.ts.

const str = { type: "string" } as const;
const bool = { type: "boolean" } as const;
const int = { type: "integer" } as const;
const num = { type: "number" } as const;
const strOrNum = { type: ["string", "number"] } as const;
const strList = { type: "array", items: str } as const;
const stringOrList = { anyOf: [str, strList] } as const;
const scalar = { type: ["string", "number", "boolean", "null"] } as const;
const listOrDict = {
  anyOf: [{ type: "object", additionalProperties: scalar }, strList],
} as const;
const strMap = { type: "object", additionalProperties: { type: ["string", "number", "boolean"] } } as const;
const extraHosts = {
  anyOf: [{ type: "object", additionalProperties: { anyOf: [str, strList] } }, strList],
} as const;

function obj(properties: Record<string, unknown>, required: string[] = []): object {
  return { type: "object", additionalProperties: false, patternProperties: { "^x-": {} }, properties, required };
}

const deviceRequest = obj({
  capabilities: strList,
  count: { anyOf: [int, { type: "string", enum: ["all"] }] },
  device_ids: strList,
  driver: str,
  options: strMap,
});

const throttle = { type: "array", items: obj({ path: str, rate: strOrNum }, ["path", "rate"]) } as const;

const serviceMount = {
  anyOf: [str, obj({ source: str, target: str, uid: strOrNum, gid: strOrNum, mode: strOrNum }, ["source"])],
};

const lifecycleHooks = {
  type: "array",
  items: obj({ command: { anyOf: [str, strList] }, user: str, privileged: bool, working_dir: str, environment: listOrDict }, ["command"]),
} as const;

const service = obj({
  annotations: listOrDict,
  attach: bool,
  blkio_config: obj({
    weight: int,
    weight_device: { type: "array", items: obj({ path: str, weight: int }, ["path", "weight"]) },
    device_read_bps: throttle,
    device_write_bps: throttle,
    device_read_iops: throttle,
    device_write_iops: throttle,
  }),
  build: {
    anyOf: [
      str,
      obj({
        context: str,
        dockerfile: str,
        dockerfile_inline: str,
        args: listOrDict,
        target: str,
        labels: listOrDict,
        cache_from: strList,
        network: str,
        shm_size: strOrNum,
        extra_hosts: extraHosts,
        no_cache: bool,
        pull: bool,
        platforms: strList,
        tags: strList,
        isolation: str,
      }),
    ],
  },
  cap_add: strList,
  cap_drop: strList,
  cgroup: { type: "string", enum: ["host", "private"] },
  cgroup_parent: str,
  // null first: with type coercion, a string branch would turn null into ""
  command: { anyOf: [{ type: "null" }, str, strList] },
  configs: { type: "array", items: serviceMount },
  container_name: str,
  cpu_count: int,
  cpu_percent: int,
  cpu_shares: strOrNum,
  cpu_quota: strOrNum,
  cpu_period: strOrNum,
  cpu_rt_period: strOrNum,
  cpu_rt_runtime: strOrNum,
  cpus: strOrNum,
  cpuset: str,
  depends_on: {
    anyOf: [
      strList,
      {
        type: "object",
        additionalProperties: obj(
          {
            condition: { type: "string", enum: ["service_started", "service_healthy", "service_completed_successfully"] },
            restart: bool,
            required: bool,
          },
          ["condition"],
        ),
      },
    ],
  },
  deploy: obj({
    mode: str,
    replicas: int,
    labels: listOrDict,
    endpoint_mode: str,
    update_config: obj({
      parallelism: int,
      delay: str,
      failure_action: str,
      monitor: str,
      max_failure_ratio: num,
      order: { type: "string", enum: ["start-first", "stop-first"] },
    }),
    rollback_config: { type: "object" },
    restart_policy: obj({
      condition: { type: "string", enum: ["none", "on-failure", "any"] },
      delay: str,
      max_attempts: int,
      window: str,
    }),
    placement: { type: "object" },
    resources: obj({
      limits: obj({ cpus: strOrNum, memory: strOrNum, pids: int }),
      reservations: obj({
        cpus: strOrNum,
        memory: strOrNum,
        generic_resources: { type: "array" },
        devices: { type: "array", items: deviceRequest },
      }),
    }),
  }),
  device_cgroup_rules: strList,
  devices: { type: "array", items: { anyOf: [str, obj({ source: str, target: str, permissions: str }, ["source"])] } },
  dns: stringOrList,
  dns_opt: strList,
  dns_search: stringOrList,
  domainname: str,
  entrypoint: { anyOf: [{ type: "null" }, str, strList] },
  env_file: {
    anyOf: [str, { type: "array", items: { anyOf: [str, obj({ path: str, required: bool, format: str }, ["path"])] } }],
  },
  environment: listOrDict,
  expose: { type: "array", items: strOrNum },
  extends: { anyOf: [str, obj({ service: str, file: str }, ["service"])] },
  external_links: strList,
  extra_hosts: extraHosts,
  gpus: { anyOf: [{ type: "string", enum: ["all"] }, { type: "array", items: deviceRequest }] },
  group_add: { type: "array", items: strOrNum },
  healthcheck: obj({
    disable: bool,
    interval: str,
    retries: num,
    test: stringOrList,
    timeout: str,
    start_period: str,
    start_interval: str,
  }),
  hostname: str,
  image: str,
  init: bool,
  ipc: str,
  isolation: str,
  label_file: stringOrList,
  labels: listOrDict,
  links: strList,
  logging: obj({ driver: str, options: { type: "object", additionalProperties: { type: ["string", "number", "null"] } } }),
  mac_address: str,
  mem_limit: strOrNum,
  mem_reservation: strOrNum,
  mem_swappiness: int,
  memswap_limit: strOrNum,
  network_mode: str,
  networks: {
    anyOf: [
      strList,
      {
        type: "object",
        additionalProperties: {
          anyOf: [
            { type: "null" },
            obj({
              aliases: strList,
              ipv4_address: str,
              ipv6_address: str,
              link_local_ips: strList,
              mac_address: str,
              driver_opts: strMap,
              priority: num,
              gw_priority: num,
            }),
          ],
        },
      },
    ],
  },
  oom_kill_disable: bool,
  oom_score_adj: { type: "integer", minimum: -1000, maximum: 1000 },
  pid: { type: ["string", "null"] },
  pids_limit: strOrNum,
  platform: str,
  ports: {
    type: "array",
    items: {
      anyOf: [
        strOrNum,
        obj({ name: str, mode: str, host_ip: str, target: strOrNum, published: strOrNum, protocol: str, app_protocol: str }, ["target"]),
      ],
    },
  },
  use_api_socket: bool,
  post_start: lifecycleHooks,
  pre_stop: lifecycleHooks,
  privileged: bool,
  profiles: strList,
  pull_policy: str,
  read_only: bool,
  restart: str,
  runtime: str,
  scale: int,
  secrets: { type: "array", items: serviceMount },
  security_opt: strList,
  shm_size: strOrNum,
  stdin_open: bool,
  stop_grace_period: str,
  stop_signal: str,
  storage_opt: { type: "object" },
  sysctls: listOrDict,
  tmpfs: stringOrList,
  tty: bool,
  ulimits: {
    type: "object",
    additionalProperties: { anyOf: [int, obj({ soft: int, hard: int }, ["soft", "hard"])] },
  },
  user: str,
  userns_mode: str,
  uts: str,
  volumes: {
    type: "array",
    items: {
      anyOf: [
        str,
        obj(
          {
            type: { type: "string", enum: ["bind", "volume", "tmpfs", "npipe", "cluster", "image"] },
            source: str,
            target: str,
            read_only: bool,
            consistency: str,
            bind: obj({ propagation: str, create_host_path: bool, selinux: { type: "string", enum: ["z", "Z"] }, recursive: str }),
            volume: obj({ nocopy: bool, subpath: str, labels: listOrDict }),
            tmpfs: obj({ size: strOrNum, mode: strOrNum }),
            image: obj({ subpath: str }),
          },
          ["type"],
        ),
      ],
    },
  },
  volumes_from: strList,
  working_dir: str,
});

const external = { anyOf: [bool, obj({ name: str })] } as const;

const network = obj({
  name: str,
  driver: str,
  driver_opts: strMap,
  ipam: obj({
    driver: str,
    config: {
      type: "array",
      items: obj({ subnet: str, ip_range: str, gateway: str, aux_addresses: { type: "object", additionalProperties: str } }),
    },
    options: { type: "object", additionalProperties: str },
  }),
  external,
  internal: bool,
  attachable: bool,
  enable_ipv4: bool,
  enable_ipv6: bool,
  labels: listOrDict,
});

const volume = obj({ name: str, driver: str, driver_opts: strMap, external, labels: listOrDict });

const fileObject = obj({ name: str, file: str, environment: str, content: str, external, labels: listOrDict, driver: str, template_driver: str });

export const composeSchema = {
  type: "object",
  additionalProperties: false,
  patternProperties: { "^x-": {} },
  properties: {
    version: str,
    name: str,
    include: { type: "array", items: { anyOf: [str, obj({ path: stringOrList, env_file: stringOrList, project_directory: str }, ["path"])] } },
    services: { type: "object", additionalProperties: service },
    networks: { type: "object", additionalProperties: { anyOf: [network, { type: "null" }] } },
    volumes: { type: "object", additionalProperties: { anyOf: [volume, { type: "null" }] } },
    secrets: { type: "object", additionalProperties: fileObject },
    configs: { type: "object", additionalProperties: fileObject },
  },
} as const;

/** Compose keys Konta recognises but does not apply, with the reason shown to the user. */
export const UNSUPPORTED: Record<string, string> = {
  models: "AI model runners are a Docker Desktop feature",
  "services.*.develop": "watch mode is for development machines, not a deploy server",
  "services.*.provider": "service providers are a Docker Desktop extension point",
  "services.*.models": "AI model runners are a Docker Desktop feature",
  "services.*.credential_spec": "credential specs are for Windows containers",
  "services.*.pull_refresh_after": "periodic refresh is not applied; use pull_policy: always",
};

/** Swarm-only parts of `deploy:` that a single engine ignores (Docker Compose ignores them too). */
export const SWARM_ONLY = [
  "deploy.mode",
  "deploy.endpoint_mode",
  "deploy.labels",
  "deploy.placement",
  "deploy.rollback_config",
  "deploy.update_config.parallelism",
  "deploy.update_config.delay",
  "deploy.update_config.failure_action",
  "deploy.update_config.monitor",
  "deploy.update_config.max_failure_ratio",
  "deploy.restart_policy.delay",
  "deploy.restart_policy.window",
  "deploy.resources.reservations.cpus",
  "deploy.resources.reservations.generic_resources",
] as const;
