// The Compose loader beyond the fixture corpus: hash stability (two spellings, one hash) and
// sensitivity (any meaningful change, a new hash), `~` paths, and errors that name file and key.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { listProjects, type LoadOptions, loadProject } from "../../lib/compose/index.ts";
import { serviceHash } from "../../lib/compose/hash.ts";
import type { ServiceModel } from "../../lib/compose/model.ts";

/** Write files under a fresh repo root (apps/<name>/...) and load the project. */
function load(files: Record<string, string>, opts: Partial<LoadOptions> = {}, name = "app", root = mkdtempSync(join(tmpdir(), "konta-compose-"))) {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, "apps", name, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return loadProject(join(root, "apps", name), name, { repoRoot: root, processEnv: {}, ...opts });
}

function service(yaml: string, extra: Record<string, string> = {}, opts: Partial<LoadOptions> = {}): ServiceModel {
  const p = load({ "docker-compose.yml": yaml, ...extra }, opts);
  return Object.values(p.services)[0] as ServiceModel;
}

const hashOf = (yaml: string, extra: Record<string, string> = {}) => serviceHash(service(yaml, extra));

/** The error's message and hint. */
function loadError(files: Record<string, string>, opts: Partial<LoadOptions> = {}): string {
  try {
    load(files, opts);
  } catch (err) {
    return `${(err as Error).message}\n${(err as { hint?: string }).hint ?? ""}`;
  }
  throw new Error("expected the load to fail");
}

describe("config hash: two spellings of one service have one hash", () => {
  const pairs: [string, string, string][] = [
    [
      "reordered keys",
      "services:\n  s:\n    image: busybox\n    command: [a]\n    environment: {A: '1', B: '2'}\n",
      "services:\n  s:\n    environment: {B: '2', A: '1'}\n    command: [a]\n    image: busybox\n",
    ],
    ["environment list vs map", "services:\n  s:\n    image: busybox\n    environment: [A=1, B=x y]\n", "services:\n  s:\n    image: busybox\n    environment: {A: 1, B: x y}\n"],
    ["labels list vs map", "services:\n  s:\n    image: busybox\n    labels: [a=1, b=2]\n", "services:\n  s:\n    image: busybox\n    labels: {b: '2', a: '1'}\n"],
    [
      "short vs long ports",
      "services:\n  s:\n    image: busybox\n    ports: ['127.0.0.1:8080:80', '53:53/udp']\n",
      "services:\n  s:\n    image: busybox\n    ports:\n      - {target: 53, published: 53, protocol: udp}\n      - {target: 80, published: '8080', host_ip: 127.0.0.1, mode: ingress}\n",
    ],
    [
      "short vs long named volume",
      "services:\n  s:\n    image: busybox\n    volumes: ['data:/data:ro']\nvolumes: {data: {}}\n",
      "services:\n  s:\n    image: busybox\n    volumes: [{type: volume, source: data, target: /data, read_only: true}]\nvolumes: {data: {}}\n",
    ],
    ["command string vs list", "services:\n  s:\n    image: busybox\n    command: sh -c 'echo hi'\n", "services:\n  s:\n    image: busybox\n    command: [sh, -c, echo hi]\n"],
    ["healthcheck disable vs NONE", "services:\n  s:\n    image: busybox\n    healthcheck: {disable: true}\n", "services:\n  s:\n    image: busybox\n    healthcheck: {test: [NONE]}\n"],
    ["sizes in other units", "services:\n  s:\n    image: busybox\n    mem_limit: 512m\n", "services:\n  s:\n    image: busybox\n    mem_limit: 536870912\n"],
    ["durations in other units", "services:\n  s:\n    image: busybox\n    stop_grace_period: 90s\n", "services:\n  s:\n    image: busybox\n    stop_grace_period: 1m30s\n"],
    ["false defaults left out", "services:\n  s:\n    image: busybox\n    privileged: false\n    read_only: false\n", "services:\n  s:\n    image: busybox\n"],
    ["null command", "services:\n  s:\n    image: busybox\n    command: null\n", "services:\n  s:\n    image: busybox\n"],
    [
      "depends_on list vs long form",
      "services:\n  s:\n    image: busybox\n    depends_on: [d]\n  d: {image: busybox}\n",
      "services:\n  s:\n    image: busybox\n    depends_on: {d: {condition: service_started}}\n  d: {image: busybox}\n",
    ],
    [
      "extra_hosts list vs map",
      "services:\n  s:\n    image: busybox\n    extra_hosts: ['a:1.2.3.4', 'b=5.6.7.8']\n",
      "services:\n  s:\n    image: busybox\n    extra_hosts: {b: 5.6.7.8, a: 1.2.3.4}\n",
    ],
    [
      "anchors vs inline",
      "x-env: &env {A: '1'}\nservices:\n  s:\n    image: busybox\n    environment: *env\n",
      "services:\n  s:\n    image: busybox\n    environment: {A: '1'}\n",
    ],
    ["konta.stopped toggled", "services:\n  s:\n    image: busybox\n    labels: {konta.managed: 'true'}\n", "services:\n  s:\n    image: busybox\n    labels: {konta.managed: 'true', konta.stopped: 'true'}\n"],
    ["replica count", "services:\n  s:\n    image: busybox\n", "services:\n  s:\n    image: busybox\n    deploy: {replicas: 3}\n"],
  ];
  for (const [name, a, b] of pairs) {
    test(name, () => {
      const sa = service(a);
      const sb = service(b);
      expect(serviceHash(sa)).toBe(serviceHash(sb));
    });
  }

  test("the same project in two different release directories", () => {
    const files = { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['./html:/www:ro']\n", "html/index.html": "hi\n" };
    const a = load(files);
    const b = load(files);
    expect(a.dir).not.toBe(b.dir);
    expect(serviceHash(a.services.s as ServiceModel)).toBe(serviceHash(b.services.s as ServiceModel));
  });
});

describe("config hash: every meaningful change gives a new hash", () => {
  const base = `services:
  s:
    image: busybox:1
    command: [sleep, "10"]
    entrypoint: [/bin/sh, -c]
    environment: {A: "1"}
    env_file: [vars.env]
    labels: {konta.managed: "true", l: "1"}
    ports: ["127.0.0.1:8080:80"]
    expose: ["3000"]
    volumes: ["./conf:/conf:ro", "data:/data"]
    networks: {default: {aliases: [x]}}
    healthcheck: {test: [CMD, "true"], interval: 5s}
    restart: always
    user: "1000"
    working_dir: /srv
    hostname: h
    cap_add: [NET_ADMIN]
    mem_limit: 64m
    cpus: 0.5
    ulimits: {nofile: 1024}
    sysctls: {net.core.somaxconn: "512"}
    logging: {driver: json-file, options: {max-size: 1m}}
    extra_hosts: ["a:1.2.3.4"]
    dns: [1.1.1.1]
    stop_signal: SIGTERM
    stop_grace_period: 5s
    tmpfs: [/run]
    shm_size: 64m
    init: true
    secrets: [s1]
    post_start: [{command: "touch /ready", user: "0"}]
    pre_stop: [{command: [drain], environment: [MODE=fast]}]
volumes: {data: {}}
secrets: {s1: {file: ./secret.txt}}
`;
  const files = { "conf/a.conf": "a\n", "vars.env": "V=1\n", "secret.txt": "s\n" };
  const baseHash = hashOf(base, files);
  const changes: [string, string, Record<string, string>?][] = [
    ["image tag", "image: busybox:1|image: busybox:2"],
    ["command", 'command: [sleep, "10"]|command: [sleep, "11"]'],
    ["entrypoint", "entrypoint: [/bin/sh, -c]|entrypoint: [/bin/bash, -c]"],
    ["an environment value", 'environment: {A: "1"}|environment: {A: "2"}'],
    ["an added variable", 'environment: {A: "1"}|environment: {A: "1", B: "1"}'],
    ["a label", 'l: "1"|l: "2"'],
    ["a published port", "127.0.0.1:8080:80|127.0.0.1:8081:80"],
    ["a port's host IP", "127.0.0.1:8080:80|0.0.0.0:8080:80"],
    ["a port's protocol", '"127.0.0.1:8080:80"|"127.0.0.1:8080:80/udp"'],
    ["expose", '"3000"|"3001"'],
    ["a volume target", "data:/data|data:/data2"],
    ["a bind mount mode", "./conf:/conf:ro|./conf:/conf"],
    ["a network alias", "aliases: [x]|aliases: [y]"],
    ["healthcheck interval", "interval: 5s|interval: 6s"],
    ["restart policy", "restart: always|restart: unless-stopped"],
    ["user", 'user: "1000"|user: "1001"'],
    ["working_dir", "working_dir: /srv|working_dir: /opt"],
    ["hostname", "hostname: h|hostname: g"],
    ["cap_add", "cap_add: [NET_ADMIN]|cap_add: [SYS_TIME]"],
    ["mem_limit", "mem_limit: 64m|mem_limit: 65m"],
    ["cpus", "cpus: 0.5|cpus: 0.6"],
    ["ulimits", "nofile: 1024|nofile: 2048"],
    ["sysctls", 'somaxconn: "512"|somaxconn: "513"'],
    ["logging options", "max-size: 1m|max-size: 2m"],
    ["extra_hosts", "a:1.2.3.4|a:1.2.3.5"],
    ["dns", "dns: [1.1.1.1]|dns: [8.8.8.8]"],
    ["stop_signal", "stop_signal: SIGTERM|stop_signal: SIGINT"],
    ["stop_grace_period", "stop_grace_period: 5s|stop_grace_period: 6s"],
    ["tmpfs", "tmpfs: [/run]|tmpfs: [/run2]"],
    ["shm_size", "shm_size: 64m|shm_size: 65m"],
    ["init", "init: true|init: false"],
    ["the content of a bind-mounted file", "|", { "conf/a.conf": "changed\n" }],
    ["the content of an env_file", "|", { "vars.env": "V=2\n" }],
    ["the content of a secret file", "|", { "secret.txt": "t\n" }],
    ["a post_start command", "touch /ready|touch /started"],
    ["a post_start user", 'user: "0"}]|user: "1"}]'],
    ["a pre_stop variable", "MODE=fast|MODE=slow"],
    ["network_mode instead of networks", "    networks: {default: {aliases: [x]}}\n|    network_mode: host\n"],
  ];
  for (const [name, change, extra] of changes) {
    test(name, () => {
      const [from, to] = change.split("|") as [string, string];
      if (from) expect(base).toContain(from);
      const yaml = from ? base.replace(from, to) : base;
      expect(hashOf(yaml, { ...files, ...(extra ?? {}) })).not.toBe(baseHash);
    });
  }
});

describe("paths", () => {
  test("~ expands to the home directory of the user running Konta", () => {
    const s = service("services:\n  s:\n    image: busybox\n    volumes: ['~/minecraft_data:/data']\n");
    expect(s.volumes?.[0]).toMatchObject({ type: "bind", source: join(homedir(), "minecraft_data"), target: "/data" });
  });

  test("~user is refused with a reason", () => {
    expect(loadError({ "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['~bob/x:/x']\n" })).toContain('only "~/"');
  });
});

describe("errors name the file and the key", () => {
  const file = "apps/app/docker-compose.yml";
  const cases: [string, Record<string, string>, (string | RegExp)[], Partial<LoadOptions>?][] = [
    ["invalid YAML", { "docker-compose.yml": "services:\n  s:\n    image: [unclosed\n" }, [file, "invalid YAML"]],
    ["duplicate keys", { "docker-compose.yml": "services:\n  s:\n    image: a\n    image: b\n" }, [file, "invalid YAML"]],
    ["a schema violation", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    cap_add: NET_ADMIN\n" }, [`${file}:4`, "services.s.cap_add", "must be array"]],
    ["an unknown key", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    imagee: x\n" }, [`${file}:4`, "services.s.imagee", "unknown key"]],
    ["an unknown top-level key", { "docker-compose.yml": "servics:\n  s:\n    image: busybox\n" }, [`${file}:1`, "servics", "unknown key"]],
    ["a Compose key Konta does not apply", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    develop: {watch: []}\n" }, [`${file}:4`, "services.s.develop", "not supported by Konta"]],
    [
      "a missing required variable",
      { "docker-compose.yml": "services:\n  db:\n    image: mysql\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set the database password}\n" },
      [`${file}:5`, "services.db.environment.PASSWORD", "DB_PASSWORD", "set the database password"],
    ],
    ["a missing env_file", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    env_file: nope.env\n" }, [file, "services.s.env_file[0]", "nope.env does not exist"]],
    ["a path escaping with ..", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['../../../etc:/host-etc']\n" }, [file, "services.s.volumes[0]", "outside the repository"]],
    ["an env_file escaping with ..", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    env_file: ../../../etc/passwd\n" }, [file, "env_file", "outside the repository"]],
    [
      "circular extends",
      { "docker-compose.yml": "services:\n  a:\n    extends: b\n    image: busybox\n  b:\n    extends: a\n    image: busybox\n" },
      [file, "circular extends"],
    ],
    [
      "circular depends_on",
      { "docker-compose.yml": "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n" },
      [file, "circular dependency", "a -> b -> a"],
    ],
    ["an undeclared network", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    networks: [front]\n" }, [`${file}:4`, "services.s.networks.front", "not declared"]],
    ["an undeclared volume", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['data:/data']\n" }, [file, "services.s.volumes[0]", 'volume "data" is not declared']],
    ["a depends_on on a missing service", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    depends_on: [db]\n" }, [file, "services.s.depends_on.db", "does not exist"]],
    ["scale and replicas disagreeing", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    scale: 2\n    deploy: {replicas: 3}\n" }, [file, "services.s.scale", "disagree"]],
    [
      "a relative data directory that is not in the repository",
      { "docker-compose.yml": "services:\n  db:\n    image: mysql\n    volumes: ['./data:/var/lib/mysql']\n" },
      [file, "services.db.volumes[0]", "./data does not exist in the repository", "named volume"],
    ],
    ["privileged when the server forbids it", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    privileged: true\n" }, [file, "services.s.privileged", "forbidden"], { policy: { allowPrivileged: false } }],
    [
      "the Docker socket outside allowed_bind_roots",
      { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n" },
      [file, "services.s.volumes[0]", "allowed_bind_roots"],
      { policy: { allowPrivileged: true, allowedBindRoots: ["/srv"] } },
    ],
    ["the host root outside allowed_bind_roots", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['/:/host']\n" }, [file, "allowed_bind_roots"], { policy: { allowPrivileged: true, allowedBindRoots: ["/srv"] } }],
    ["a service with neither image nor build", { "docker-compose.yml": "services:\n  s:\n    command: [true]\n" }, [file, "neither image nor build"]],
    [
      "dockerfile with dockerfile_inline",
      { "docker-compose.yml": "services:\n  s:\n    build: {dockerfile: Dockerfile, dockerfile_inline: 'FROM busybox'}\n" },
      [file, "services.s.build", "exclude each other"],
    ],
    [
      "a secret from an unset variable",
      { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    secrets: [x]\nsecrets:\n  x: {environment: NOPE}\n" },
      [file, "services.s.secrets[0]", 'secret "x": the variable NOPE is not set'],
    ],
    ["an invalid port", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    ports: ['80:99999']\n" }, [file, "services.s.ports[0]", "invalid"]],
    ["an invalid duration", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    stop_grace_period: 10 seconds\n" }, [file, "services.s.stop_grace_period", "invalid duration"]],
    ["a bad interpolation", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    command: echo ${\n" }, [file, "services.s.command", "invalid interpolation"]],
    ["a network_mode and networks together", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    network_mode: host\n    networks: [default]\n" }, [file, "network_mode"]],
    ["an external secret", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    secrets: [x]\nsecrets:\n  x: {external: true}\n" }, [file, "services.s.secrets[0]", "Swarm"]],
    ["an unknown pull_policy", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    pull_policy: hourly\n" }, [file, "services.s.pull_policy", "not supported", "every_<duration>"]],
    ["pull_policy every_ with a bad duration", { "docker-compose.yml": "services:\n  s:\n    image: busybox\n    pull_policy: every_soon\n" }, [file, "services.s.pull_policy", "invalid duration"]],
  ];
  for (const [name, files, expected, opts] of cases) {
    test(name, () => {
      const message = loadError(files, opts);
      for (const e of expected) {
        if (typeof e === "string") expect(message).toContain(e);
        else expect(message).toMatch(e);
      }
    });
  }

  test("a bind mount escaping through a symlink", () => {
    const root = mkdtempSync(join(tmpdir(), "konta-compose-"));
    mkdirSync(join(root, "apps/app"), { recursive: true });
    symlinkSync("/etc", join(root, "apps/app/etc-link"));
    const message = (() => {
      try {
        load({ "docker-compose.yml": "services:\n  s:\n    image: busybox\n    volumes: ['./etc-link:/x']\n" }, {}, "app", root);
      } catch (err) {
        return (err as Error).message;
      }
      return "";
    })();
    expect(message).toContain("services.s.volumes[0]");
    expect(message).toContain("outside the repository");
  });

  test("a Compose file that is a symlink out of the repository", () => {
    const root = mkdtempSync(join(tmpdir(), "konta-compose-"));
    const outside = mkdtempSync(join(tmpdir(), "konta-outside-"));
    writeFileSync(join(outside, "evil.yml"), "services:\n  s:\n    image: busybox\n");
    mkdirSync(join(root, "apps/app"), { recursive: true });
    symlinkSync(join(outside, "evil.yml"), join(root, "apps/app/docker-compose.yml"));
    expect(() => loadProject(join(root, "apps/app"), "app", { repoRoot: root, processEnv: {} })).toThrow(/outside the repository/);
  });

  test("a YAML bomb is refused, not expanded", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const bomb = `x-bomb:\n  ${levels.join("\n  ")}\nservices:\n  s:\n    image: busybox\n`;
    const started = performance.now();
    expect(loadError({ "docker-compose.yml": bomb })).toContain("alias");
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("app folders whose names cannot be project names", () => {
    const root = mkdtempSync(join(tmpdir(), "konta-compose-"));
    for (const name of ["ok", "Bad Name", "semi;colon"]) {
      mkdirSync(join(root, "apps", name), { recursive: true });
      writeFileSync(join(root, "apps", name, "compose.yaml"), "services: {}\n");
    }
    mkdirSync(join(root, "apps", "no-compose-file"));
    expect(() => listProjects(join(root, "apps"))).toThrow(/"Bad Name", "semi;colon"/);
  });

  test("a host env file readable by others is refused", () => {
    const hostEnvDir = mkdtempSync(join(tmpdir(), "konta-hostenv-"));
    writeFileSync(join(hostEnvDir, "app.env"), "SECRET=x\n");
    chmodSync(join(hostEnvDir, "app.env"), 0o644);
    expect(loadError({ "docker-compose.yml": "services:\n  s:\n    image: busybox\n" }, { hostEnvDir })).toContain("chmod 600");
  });
});

describe("variables", () => {
  test("layers: repo .env < host env file < allowed process variables", () => {
    const hostEnvDir = mkdtempSync(join(tmpdir(), "konta-hostenv-"));
    writeFileSync(join(hostEnvDir, "app.env"), "B=host\nC=host\n");
    chmodSync(join(hostEnvDir, "app.env"), 0o600);
    const s = service(
      "services:\n  s:\n    image: busybox\n    environment: {A: $A, B: $B, C: $C, D: '${D:-unset}'}\n",
      { ".env": "A=repo\nB=repo\nC=repo\n" },
      { hostEnvDir, passthrough: ["C"], processEnv: { C: "process", D: "not-allowed" } },
    );
    expect(s.environment).toEqual({ A: "repo", B: "host", C: "process", D: "unset" });
  });

  test("an unset variable without default warns and becomes empty, as in Compose", () => {
    const p = load({ "docker-compose.yml": "services:\n  s:\n    image: busybox\n    environment: {A: 'x${NOPE}y'}\n" });
    expect(p.services.s?.environment).toEqual({ A: "xy" });
    expect(p.warnings.join("\n")).toContain("variable NOPE is not set");
  });

  test("keys are not interpolated", () => {
    const s = service("services:\n  s:\n    image: busybox\n    labels: {'$KEY': v}\n", {}, { processEnv: { KEY: "k" }, passthrough: ["KEY"] });
    expect(s.labels).toEqual({ $KEY: "v" });
  });

  test("interpolated numbers and booleans take the type the key expects", () => {
    const s = service("services:\n  s:\n    image: busybox\n    read_only: ${RO}\n    deploy: {replicas: '${N}'}\n", { ".env": "RO=true\nN=3\n" });
    expect(s.read_only).toBe(true);
    expect(s.replicas).toBe(3);
  });
});

describe("periodic pull policies (newer than Compose 2.26; the specification: pulled again once that long has passed since the last pull)", () => {
  for (const [policy, seconds] of [
    ["daily", 86_400],
    ["weekly", 604_800],
    ["every_12h", 43_200],
    ["every_1d2h", 93_600],
    ["every_2w", 1_209_600],
    ["every_90s", 90],
  ] as const) {
    test(`${policy}: every ${seconds} s, pulled when missing meanwhile; not in the config hash`, () => {
      const s = service(`services:\n  s:\n    image: busybox\n    pull_policy: ${policy}\n`);
      expect({ policy: s.pull_policy, every: s.pull_every }).toEqual({ policy: "missing", every: seconds });
      expect(serviceHash(s)).toBe(hashOf("services:\n  s:\n    image: busybox\n"));
    });
  }
});

test("lifecycle hooks: a command string split as a shell would, variables without a value taken from the project", () => {
  const s = service("services:\n  s:\n    image: busybox\n    post_start:\n      - command: sh -c 'echo a b'\n        environment: [FROM_ENV, SET=1]\n        working_dir: /w\n", { ".env": "FROM_ENV=dotenv\n" });
  expect(s.post_start).toEqual([{ command: ["sh", "-c", "echo a b"], environment: { FROM_ENV: "dotenv", SET: "1" }, working_dir: "/w" }]);
});

describe("use_api_socket: the engine's socket, only where the policy allows it", () => {
  const yaml = "services:\n  s:\n    image: busybox\n    use_api_socket: true\n";
  test("allowed: a bind of /var/run/docker.sock at the same path", () => {
    expect(service(yaml).volumes).toEqual([{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }]);
  });
  test("refused under allow_privileged: false, and outside allowed_bind_roots", () => {
    expect(loadError({ "docker-compose.yml": yaml }, { policy: { allowPrivileged: false } })).toContain("services.s.use_api_socket: use_api_socket (the Docker socket is root on the host) is forbidden on this server");
    expect(loadError({ "docker-compose.yml": yaml }, { policy: { allowPrivileged: true, allowedBindRoots: ["/srv"] } })).toMatch(/services.s.use_api_socket: host path \/var\/run\/docker.sock .*is outside deploy.allowed_bind_roots/);
  });
  test("with a volume at the same target: refused", () => {
    expect(loadError({ "docker-compose.yml": `${yaml}    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n` })).toContain("use_api_socket and a volume at /var/run/docker.sock");
  });
});
