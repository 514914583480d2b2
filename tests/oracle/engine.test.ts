// The engine oracle: one real-world shaped project deployed by `docker compose up -d` (Compose v2)
// and by Konta (same files, different project names), then `docker inspect` of each service's
// container, its networks and volumes compared field by field. Normalised: the project names and
// folders (each side's own), the published port each side was given, and the labels each tool
// adds for itself (com.docker.compose.*, konta.commit/instance). Every other difference fails.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerCompose } from "../support/compose-oracle.ts";
import { engine, freePort, IMAGE, inspect } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const work = mkdtempSync(join(tmpdir(), "konta-oracle-engine-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WEB: Record<string, string> = {
  "compose.yaml": `services:
  web:
    image: ${IMAGE}
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    working_dir: /www
    user: "0:0"
    ports: ["127.0.0.1:\${PORT}:80", "127.0.0.1::81/udp"]
    expose: ["8080", "9000-9001/udp"]
    environment:
      MODE: production
      EMPTY: ""
      FROM_DOTENV: \${GREETING}
    env_file: app.env
    labels: { konta.managed: "true", com.example.team: web }
    volumes:
      - ./www:/www:ro
      - data:/data
      - /anon
      - type: tmpfs
        target: /cache
        tmpfs: { size: 1048576 }
    tmpfs: ["/run:size=1m"]
    healthcheck:
      test: ["CMD-SHELL", "echo ok"]
      interval: 2s
      timeout: 1s
      retries: 3
      start_period: 1s
    restart: unless-stopped
    mem_limit: 64m
    mem_reservation: 32m
    cpus: 0.5
    pids_limit: 100
    cap_drop: [NET_RAW]
    cap_add: [SYS_NICE]
    security_opt: ["no-new-privileges:true"]
    sysctls: { net.core.somaxconn: "1024" }
    ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 512 }
    extra_hosts: ["db.local:10.0.0.5"]
    dns: [1.1.1.1]
    dns_search: [example.com]
    dns_opt: ["ndots:2"]
    logging: { driver: json-file, options: { max-size: 1m, max-file: "2" } }
    shm_size: 16m
    init: true
    stop_signal: SIGTERM
    stop_grace_period: 5s
    tty: true
    stdin_open: true
    hostname: web
    domainname: example.com
    group_add: ["100"]
    oom_score_adj: 100
    networks:
      front: { aliases: [www] }
      back: {}
    secrets: [token]
    configs: [{ source: conf, target: /etc/conf.html }]
  worker:
    image: ${IMAGE}
    command: sleep 3600
    read_only: true
    depends_on: [web]
    labels: { konta.managed: "true" }
    networks: [back]
    deploy:
      resources: { limits: { memory: 32M, cpus: "0.25", pids: 50 }, reservations: { memory: 16M } }
      restart_policy: { condition: on-failure, max_attempts: 3 }
networks:
  front: {}
  back: { internal: true, labels: { tier: back } }
volumes:
  data: { labels: { backup: daily } }
secrets:
  token: { file: ./secret.txt }
configs:
  conf: { file: ./www/index.html }
`,
  ".env": "GREETING=hello from .env\nPORT=1\n",
  "app.env": "FROM_FILE=yes\nQUOTED=\"a b\"\n",
  "www/index.html": "<p>oracle</p>\n",
  "secret.txt": "s3cret\n",
};

// shared namespaces and volumes, devices, links, a one-shot job (privileged: refused by this machine's kernel)
const SHARED: Record<string, string> = {
  "compose.yaml": `services:
  a:
    image: ${IMAGE}
    command: sleep 3600
    ipc: shareable
    volumes: [/shared]
    labels: { konta.managed: "true" }
  b:
    image: ${IMAGE}
    command: sleep 3600
    network_mode: "service:a"
    ipc: "service:a"
    pid: "service:a"
    volumes_from: ["a:ro"]
    labels: { konta.managed: "true" }
  c:
    image: ${IMAGE}
    command: sleep 3600
    devices: ["/dev/null:/dev/konta-null:rw"]
    pid: host
    links: [a]
    labels: { konta.managed: "true" }
  job:
    image: ${IMAGE}
    command: ["echo", "done"]
    restart: "no"
    labels: { konta.managed: "true" }
`,
  ".env": "PORT=1\n",
};

/** A difference kept on purpose (docs/compose.md, "Differences from Docker Compose"): asserted, then aligned. */
type Known = (service: string, ours: any, theirs: any) => void;

// a project split by include: files in sub-folders with their own .env, an include env_file, a
// relative bind in an included file, a network two files define identically
const INCLUDE: Record<string, string> = {
  "compose.yaml": `include:
  - db/compose.yaml
  - path: web/compose.yaml
    env_file: web/web.env
services:
  proxy:
    image: ${IMAGE}
    command: sleep 3600
    depends_on: [web]
    networks: [front]
    labels: { konta.managed: "true" }
networks:
  front: {}
`,
  "db/compose.yaml": `services:
  db:
    image: ${IMAGE}
    command: sleep 3600
    environment: ["MODE=\${MODE}"]
    volumes: [data:/data, ./init:/init:ro]
    networks: [back]
    labels: { konta.managed: "true" }
volumes:
  data: {}
networks:
  back: {}
`,
  "db/.env": "MODE=from-db-env\n",
  "db/init/schema.sql": "create table t (id int);\n",
  "web/compose.yaml": `services:
  web:
    image: ${IMAGE}
    command: sleep 3600
    environment: ["GREETING=\${GREETING}"]
    networks: [front, back]
    labels: { konta.managed: "true" }
networks:
  front: {}
  back: {}
`,
  "web/web.env": "GREETING=hello\n",
};

const PROJECTS: { name: string; files: Record<string, string>; services: string[]; known?: Known }[] = [
  { name: "kt-eo", files: WEB, services: ["web", "worker"] },
  { name: "kt-ei", files: INCLUDE, services: ["proxy", "db", "web"] },
  {
    name: "kt-es",
    files: SHARED,
    services: ["a", "b", "c", "job"],
    // volumes_from: ["a:ro"] is read-only with Konta (as with docker run --volumes-from a:ro);
    // Compose v2 drops the mode when it resolves the service to a container ID
    known: (service, ours, theirs) => {
      if (service !== "b") return;
      const mount = (v: any) => v.Mounts.find((m: any) => m.Destination === "/shared");
      expect([mount(ours).RW, mount(theirs).RW]).toEqual([false, true]);
      mount(theirs).RW = false;
    },
  },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a docker inspect document
type Inspect = any;

/**
 * ExposedPorts as the engine reads them: "8080" is 8080/tcp, and a range key is each of its ports
 * (Compose sends `expose:` text as written; Konta one key per port, the engine's canonical form).
 */
function exposed(ports: Record<string, unknown> | undefined): string[] {
  const out = new Set<string>();
  for (const key of Object.keys(ports ?? {})) {
    const [range, proto = "tcp"] = key.split("/") as [string, string?];
    const [a, b = a] = range.split("-").map(Number) as [number, number?];
    for (let p = a; p <= (b as number); p++) out.add(`${p}/${proto}`);
  }
  return [...out].sort();
}

const emptyAsNull = (v: unknown) => (v && typeof v === "object" && Object.keys(v).length === 0 ? null : v);

/** The fields compared, with each side's own names replaced by placeholders. */
function comparable(c: Inspect, side: { project: string; dir: string; port: number }): unknown {
  const ownLabel = (k: string) => k.startsWith("com.docker.compose.") || k === "konta.commit" || k === "konta.instance";
  const labels = Object.fromEntries(Object.entries<string>(c.Config.Labels ?? {}).filter(([k]) => !ownLabel(k)));
  const h = c.HostConfig;
  const view = {
    Config: {
      Env: [...(c.Config.Env ?? [])].sort(),
      Cmd: c.Config.Cmd,
      Entrypoint: c.Config.Entrypoint,
      User: c.Config.User,
      WorkingDir: c.Config.WorkingDir,
      Labels: labels,
      ExposedPorts: exposed(c.Config.ExposedPorts),
      Healthcheck: c.Config.Healthcheck,
      Tty: c.Config.Tty,
      OpenStdin: c.Config.OpenStdin,
      StopSignal: c.Config.StopSignal,
      StopTimeout: c.Config.StopTimeout,
      // unset, the engine names the host after the container ID
      Hostname: /^[0-9a-f]{12}$/.test(c.Config.Hostname) ? "<id>" : c.Config.Hostname,
      Domainname: c.Config.Domainname,
    },
    HostConfig: {
      // Compose sends empty lists and maps where Konta leaves a field out; the engine treats both alike
      PortBindings: emptyAsNull(h.PortBindings),
      // no policy: "" (Konta sends none) and "no" (Compose) are the same to the engine
      RestartPolicy: { ...h.RestartPolicy, Name: h.RestartPolicy?.Name || "no" },
      Memory: h.Memory,
      MemoryReservation: h.MemoryReservation,
      MemorySwap: h.MemorySwap,
      NanoCpus: h.NanoCpus,
      CpuShares: h.CpuShares,
      PidsLimit: h.PidsLimit,
      CapAdd: [...(h.CapAdd ?? [])].sort(),
      CapDrop: [...(h.CapDrop ?? [])].sort(),
      SecurityOpt: h.SecurityOpt,
      Sysctls: h.Sysctls,
      Ulimits: [...(h.Ulimits ?? [])].sort((a: Inspect, b: Inspect) => a.Name.localeCompare(b.Name)),
      Devices: h.Devices,
      ExtraHosts: emptyAsNull(h.ExtraHosts),
      Dns: h.Dns,
      DnsOptions: h.DnsOptions,
      DnsSearch: h.DnsSearch,
      LogConfig: h.LogConfig,
      Tmpfs: h.Tmpfs,
      ShmSize: h.ShmSize,
      Init: h.Init,
      PidMode: h.PidMode,
      IpcMode: h.IpcMode,
      NetworkMode: h.NetworkMode,
      GroupAdd: h.GroupAdd,
      ReadonlyRootfs: h.ReadonlyRootfs,
      Privileged: h.Privileged,
      OomScoreAdj: h.OomScoreAdj,
    },
    Mounts: [...(c.Mounts ?? [])]
      .map((m: Inspect) => ({ Type: m.Type, Source: m.Type === "volume" ? (m.Name.length === 64 ? "<anonymous>" : m.Name) : m.Source, Destination: m.Destination, RW: m.RW, Propagation: m.Propagation }))
      .sort((a, b) => a.Destination.localeCompare(b.Destination)),
    Networks: Object.fromEntries(
      Object.entries<Inspect>(c.NetworkSettings.Networks ?? {})
        .map(([name, n]) => [name, [...(n.Aliases ?? [])].filter((a: string) => a !== c.Id.slice(0, 12)).sort()])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    ),
  };
  return JSON.parse(
    JSON.stringify(view)
      // `service:x` namespaces are joined by container ID
      .replace(/container:[0-9a-f]{64}/g, "container:<id>")
      .replaceAll(side.dir, "<dir>")
      .replaceAll(`"${side.port}"`, '"<port>"')
      .replaceAll(side.project, "<project>"),
  );
}

async function resources(project: string): Promise<unknown> {
  const networks = (await engine<Inspect[]>("/networks", { query: { filters: JSON.stringify({ label: [`com.docker.compose.project=${project}`] }) } }))
    .map((n) => ({ Name: n.Name.replace(project, "<project>"), Driver: n.Driver, Internal: n.Internal, Attachable: n.Attachable, EnableIPv6: n.EnableIPv6, Options: emptyAsNull(n.Options), Labels: Object.fromEntries(Object.entries<string>(n.Labels ?? {}).filter(([k]) => !k.startsWith("com.docker.compose.") && !k.startsWith("konta."))) }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  const volumes = ((await engine<{ Volumes: Inspect[] | null }>("/volumes", { query: { filters: JSON.stringify({ label: [`com.docker.compose.project=${project}`] }) } })).Volumes ?? [])
    .map((v) => ({ Name: v.Name.replace(project, "<project>"), Driver: v.Driver, Options: emptyAsNull(v.Options), Labels: Object.fromEntries(Object.entries<string>(v.Labels ?? {}).filter(([k]) => !k.startsWith("com.docker.compose.") && !k.startsWith("konta."))) }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  return { networks, volumes };
}

describe("containers, networks and volumes as Compose v2 creates them", () => {
  for (const { name: KONTA, files, services, known } of PROJECTS) {
    const COMPOSE = `${KONTA}c`;
    test(`${KONTA}: deployed by both, the same engine objects`, async () => {
      const [kPort, cPort] = [await freePort(), await freePort()];
      const repo = rig.repo();
      repo.write(Object.fromEntries(Object.entries(files).map(([f, t]) => [`apps/${KONTA}/${f}`, f === ".env" ? t.replace("PORT=1", `PORT=${kPort}`) : t]))).commit("the oracle project");
      const env = rig.env(repo);
      const r = await env.run(["sync"]);
      expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });

      // Compose: the same folder (from the release Konta checked out), its port from the environment
      const cDir = join(work, COMPOSE);
      cpSync(join(env.state, "current", "apps", KONTA), cDir, { recursive: true });
      dockerCompose(cDir, COMPOSE, ["up", "-d"], { PORT: String(cPort) });

      const kDir = join(env.state, "releases", (await inspect(`${KONTA}-${services[0]}-1`))?.Config.Labels["konta.commit"] ?? "", "apps", KONTA);
      for (const service of services) {
        const ours = comparable(await inspect(`${KONTA}-${service}-1`), { project: KONTA, dir: kDir, port: kPort });
        const theirs = comparable(await inspect(`${COMPOSE}-${service}-1`), { project: COMPOSE, dir: cDir, port: cPort });
        known?.(service, ours, theirs);
        expect({ service, ...(ours as object) }).toEqual({ service, ...(theirs as object) });
      }
      expect(await resources(KONTA)).toEqual(await resources(COMPOSE));
      dockerCompose(cDir, COMPOSE, ["down", "-v", "-t", "0"]);
    });
  }
});
