// The Swarm oracle: one Compose file deployed by `docker stack deploy` (the Docker CLI in the
// manager) and, under another stack name, by Konta's conversion (lib/targets/swarm/spec.ts) through the
// Engine API; then each service's stored Spec compared field by field. Normalised: the stack names,
// and the IDs and names of configs (Konta names them by content). Every other difference fails.
// On a real three-node swarm, which then also places the tasks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDotenv } from "../../lib/compose/dotenv.ts";
import { ComposeKeyError } from "../../lib/compose/errors.ts";
import { findComposeFiles, loadProject, refuseKey } from "../../lib/compose/index.ts";
import type { BindMount } from "../../lib/compose/model.ts";
import { checkSwarmRules, swarmNodes } from "../../lib/targets/swarm/rules.ts";
import { networkSpecs, serviceSpec } from "../../lib/targets/swarm/spec.ts";
import { desiredSpecs } from "../../lib/targets/swarm/stack.ts";
import { SRC } from "../server/box.ts";
import { waitFor } from "../support/docker.ts";
import { removeStack, startSwarm, type Swarm, swarmApi } from "../support/swarm.ts";

const COMPOSE = `version: "3.9"
services:
  web:
    image: konta-test/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    environment: { A: "1", B: two }
    labels: { com.example.container: c }
    init: true
    hostname: web-host
    stop_grace_period: 5s
    stop_signal: SIGINT
    healthcheck: { test: ["CMD", "true"], interval: 1s, timeout: 2s, retries: 3, start_period: 1s }
    configs:
      - source: site
        target: /etc/site.conf
    volumes:
      - data:/data
      - type: tmpfs
        target: /cache
    networks:
      front: { aliases: [www] }
    deploy:
      replicas: 3
      labels: { com.example.service: s }
      placement:
        max_replicas_per_node: 1
        constraints: ["node.platform.os == linux"]
        preferences: [{ spread: node.id }]
      update_config: { parallelism: 1, delay: 1s, order: start-first, failure_action: rollback, monitor: 2s }
      rollback_config: { parallelism: 2 }
      restart_policy: { condition: on-failure, delay: 2s, max_attempts: 3, window: 10s }
      resources:
        limits: { cpus: "0.5", memory: 64M, pids: 100 }
        reservations: { cpus: "0.1", memory: 16M }
  worker:
    image: konta-test/busybox:1
    command: ["sleep", "3600"]
    restart: always
    user: "65534"
    working_dir: /tmp
    read_only: true
    cap_drop: [NET_RAW]
    ulimits: { nofile: { soft: 1024, hard: 2048 } }
    extra_hosts: ["db.internal:10.0.0.5"]
    networks: [front, back]
    deploy:
      mode: global
      endpoint_mode: dnsrr
networks:
  front: {}
  back: { attachable: true }
volumes:
  data: { labels: { com.example.volume: v } }
configs:
  site:
    file: ./site.conf
`;

let swarm: Swarm;
let work: string;

beforeAll(async () => {
  swarm = await startSwarm(3, "kt-oracle-swarm");
  work = mkdtempSync(join(tmpdir(), "konta-swarm-oracle-"));
  writeFileSync(join(work, "docker-compose.yml"), COMPOSE);
  writeFileSync(join(work, "site.conf"), "listen 80\n");
  await swarm.manager.sh("mkdir -p /tmp/oracle && cat > /tmp/oracle/docker-compose.yml", { input: COMPOSE });
  await swarm.manager.sh("cat > /tmp/oracle/site.conf", { input: "listen 80\n" });
}, 300_000);

afterAll(() => {
  swarm?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Service {
  Spec: Record<string, any>;
}

/**
 * The stored spec with the stack name replaced, networks by name (the engine stores IDs), mounts in
 * one order (Konta's model sorts them; the CLI keeps the file's), and what each side names its own
 * way (configs: Konta names them by content) left out.
 */
async function normalised(spec: Record<string, any>, stack: string): Promise<Record<string, any>> {
  for (const n of spec.TaskTemplate?.Networks ?? []) n.Target = (await swarmApi<{ Name: string }>(swarm, `/networks/${n.Target}`)).Name;
  const s = JSON.parse(JSON.stringify(spec).replaceAll(stack, "STACK"));
  s.TaskTemplate?.ContainerSpec?.Mounts?.sort((a: { Target: string }, b: { Target: string }) => a.Target.localeCompare(b.Target));
  for (const c of s.TaskTemplate?.ContainerSpec?.Configs ?? []) {
    delete c.ConfigID;
    delete c.ConfigName;
  }
  return s;
}

test("every service of a stack: Konta's spec is the one docker stack deploy stores", async () => {
  await swarm.manager.sh("cd /tmp/oracle && docker stack deploy --compose-file docker-compose.yml zzref >/dev/null");

  const project = loadProject(work, "zzkt", { repoRoot: work, processEnv: {}, passthrough: [], profiles: [] });
  const used = new Set(Object.values(project.services).flatMap((s) => Object.keys(s.networks ?? {})));
  for (const n of networkSpecs(project, used)) await swarmApi(swarm, "/networks/create", { method: "POST", body: n });
  const site = project.services.web?.configs?.[0] as BindMount;
  // Konta names a config by its content (a new content is a new object)
  const siteName = `zzkt_site.conf-${(site.digest ?? "").replace(/^sha256:/, "").slice(0, 12)}`;
  const created = await swarmApi<{ ID: string }>(swarm, "/configs/create", {
    method: "POST",
    body: { Name: siteName, Data: Buffer.from(readFileSync(join(work, "site.conf"))).toString("base64"), Labels: { "com.docker.stack.namespace": "zzkt" } },
  });
  const refs = () => ({ name: siteName, id: created.ID });
  for (const s of Object.values(project.services)) {
    await swarmApi(swarm, "/services/create", { method: "POST", body: serviceSpec(project, s, refs) });
  }

  for (const name of ["web", "worker"]) {
    const ref = await swarmApi<Service>(swarm, `/services/zzref_${name}`);
    const ours = await swarmApi<Service>(swarm, `/services/zzkt_${name}`);
    expect({ service: name, spec: await normalised(ours.Spec, "zzkt") }).toEqual({ service: name, spec: await normalised(ref.Spec, "zzref") });
  }
  // and the stack's networks
  for (const key of ["front", "back"]) {
    const ref = await swarmApi<Record<string, any>>(swarm, `/networks/zzref_${key}`);
    const ours = await swarmApi<Record<string, any>>(swarm, `/networks/zzkt_${key}`);
    // the VXLAN ID is the engine's pick
    const pick = (n: Record<string, any>, stack: string) => {
      const { "com.docker.network.driver.overlay.vxlanid_list": _vxlan, ...options } = n.Options ?? {};
      return normalised({ Driver: n.Driver, Attachable: n.Attachable, Internal: n.Internal, Labels: n.Labels, Options: options, Scope: n.Scope }, stack);
    };
    expect(await pick(ours, "zzkt")).toEqual(await pick(ref, "zzref"));
  }
}, 240_000);

test("the tasks of both stacks spread over the three nodes (max_replicas_per_node: 1)", async () => {
  for (const stack of ["zzref", "zzkt"]) {
    const nodesOf = async () => {
      const tasks = await swarmApi<{ NodeID: string; Status: { State: string } }[]>(swarm, `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [`${stack}_web`], "desired-state": ["running"] }))}`);
      return tasks.filter((t) => t.Status.State === "running").map((t) => t.NodeID);
    };
    // pulled and started on three nodes: over a minute when the CI machine runs every group at once
    const nodes = await waitFor(async () => {
      const running = await nodesOf();
      return new Set(running).size === 3 ? running : undefined;
    }, 150_000, `${stack}_web running on three nodes`, 500);
    expect(new Set(nodes).size).toBe(3);
  }
}, 330_000);

// ---------------------------------------------------------------------------------------------
// Acceptance: every fixture project (tests/fixtures/compose) and the stack files below, given to
// `docker stack deploy` (the Docker 20.10 CLI in the manager, its own v3 schema) and to Konta's
// swarm target (load, convert, check against the swarm). Both accept or both refuse, but for the
// differences listed with their reason; where both accept, every service's EndpointSpec (ports,
// ingress or host mode) and Mode are the same.

const FIXTURES = join(import.meta.dir, "../fixtures/compose");
const fixtureOptions: Record<string, { env?: Record<string, string>; passthrough?: string[]; profiles?: string[]; hostEnv?: string }> = JSON.parse(readFileSync(join(FIXTURES, "options.json"), "utf8"));

/** Stack files shaped as people write them, beside the fixtures. */
const STACKS: Record<string, Record<string, string>> = {
  "ingress-replicated": { "docker-compose.yml": 'services:\n  web:\n    image: konta-test/busybox:1\n    command: ["httpd", "-f", "-p", "80", "-h", "/"]\n    ports: ["8080:80"]\n    deploy: { replicas: 3 }\n' },
  "ports-long-modes": {
    "docker-compose.yml":
      'services:\n  web:\n    image: konta-test/busybox:1\n    command: ["httpd", "-f", "-p", "80", "-h", "/"]\n    ports:\n      - { target: 80, published: 8081, mode: ingress }\n      - { target: 81, published: 9091, mode: host }\n      - { target: 53, published: 5353, protocol: udp }\n      - { target: 82 }\n    deploy: { mode: global }\n',
  },
  "host-mode-replicated": { "docker-compose.yml": 'services:\n  web:\n    image: konta-test/busybox:1\n    ports: [{ target: 80, published: 9095, mode: host }]\n    deploy: { replicas: 2 }\n' },
  "host-mode-too-many": { "docker-compose.yml": 'services:\n  web:\n    image: konta-test/busybox:1\n    ports: [{ target: 80, published: 9096, mode: host }]\n    deploy: { replicas: 5 }\n' },
  "two-services-one-port": { "docker-compose.yml": 'services:\n  a:\n    image: konta-test/busybox:1\n    ports: ["8090:80"]\n  b:\n    image: konta-test/busybox:1\n    ports: ["8090:8080"]\n' },
  "dnsrr-ingress": { "docker-compose.yml": 'services:\n  a:\n    image: konta-test/busybox:1\n    ports: ["8091:80"]\n    deploy: { endpoint_mode: dnsrr }\n' },
  "dnsrr-host": { "docker-compose.yml": 'services:\n  a:\n    image: konta-test/busybox:1\n    ports: [{ target: 80, published: 8092, mode: host }]\n    deploy: { endpoint_mode: dnsrr, mode: global }\n' },
  "host-address": { "docker-compose.yml": 'services:\n  a:\n    image: konta-test/busybox:1\n    ports: ["127.0.0.1:8093:80"]\n' },
  // docker/awesome-compose shapes: a proxy in front of an app and its database
  "proxy-app-db": {
    "docker-compose.yml":
      'services:\n  proxy:\n    image: konta-test/busybox:1\n    ports: ["80:80", "443:443"]\n    configs: [{ source: proxy_conf, target: /etc/nginx/conf.d/default.conf }]\n    deploy: { replicas: 2 }\n  backend:\n    image: konta-test/busybox:1\n    environment: { DB_HOST: db }\n    secrets: [db-password]\n    deploy: { replicas: 2, update_config: { order: start-first } }\n  db:\n    image: konta-test/busybox:1\n    volumes: ["db-data:/var/lib/postgresql/data"]\n    secrets: [db-password]\n    deploy: { placement: { constraints: ["node.role == manager"] } }\nvolumes:\n  db-data: {}\nsecrets:\n  db-password: { file: ./password.txt }\nconfigs:\n  proxy_conf: { file: ./default.conf }\n',
    "password.txt": "s3cret\n",
    "default.conf": "server {}\n",
  },
};

/** Where Konta's swarm target answers otherwise than `docker stack deploy`, on purpose. */
const SPEC = "Konta reads the Compose Specification (as docker compose does) and applies to the swarm what it means; the 20.10 CLI's legacy v3 schema refuses";
const DIFFERENCES: Record<string, { konta: "accepts" | "refuses"; cli: string; why: string }> = {
  "env-forms": { konta: "accepts", cli: "must be a string, number or null", why: `${SPEC} booleans in an environment map` },
  profiles: { konta: "accepts", cli: "Additional property profiles is not allowed", why: `${SPEC} profiles` },
  "profiles-from-env": { konta: "accepts", cli: "Additional property profiles is not allowed", why: `${SPEC} profiles` },
  "command-entrypoint": { konta: "accepts", cli: "command must be a string", why: `${SPEC} a command reset to null` },
  "env-file": { konta: "accepts", cli: "env_file.1 must be a string", why: `${SPEC} the long env_file syntax (path, required)` },
  "traefik-app": { konta: "accepts", cli: "Additional property name is not allowed", why: `${SPEC} the top-level name (ignored with a warning: a stack is named after its folder)` },
  "version-and-name": { konta: "accepts", cli: "Additional property name is not allowed", why: `${SPEC} the top-level name (ignored with a warning: a stack is named after its folder)` },
  interpolation: { konta: "accepts", cli: "invalid interpolation format", why: `${SPEC} \${VAR:+alternative}` },
  "depends-on": { konta: "accepts", cli: "depends_on must be a list", why: `${SPEC} the long depends_on syntax (a Swarm starts services in no order either way)` },
  "wordpress-mysql": { konta: "accepts", cli: "depends_on must be a list", why: `${SPEC} the long depends_on syntax` },
  healthcheck: { konta: "accepts", cli: "Additional property start_interval is not allowed", why: `${SPEC} healthcheck.start_interval` },
  "extends-other-file": { konta: "accepts", cli: "Support for `extends` is not implemented yet", why: `${SPEC} extends (resolved by Konta's loader as Compose resolves it)` },
  "ports-short": { konta: "refuses", cli: "", why: "docker stack deploy drops a host address with a warning (the port then answers on every address of every node) and turns a host range onto one container port into one published port each; Konta refuses both, naming the port" },
  "runtime-options": { konta: "refuses", cli: "", why: "docker stack deploy drops container_name, privileged, shm_size, domainname with a warning; Konta refuses a service that would run otherwise than its file says" },
  "volumes-short": { konta: "refuses", cli: "", why: "a bind of a file of the release (./config/app.conf): docker stack deploy binds the manager's path, which no other node has; Konta refuses and names configs:" },
  "host-mode-too-many": { konta: "refuses", cli: "", why: "5 replicas of a host-mode port on 3 nodes: docker stack deploy leaves two tasks pending for ever; Konta refuses before anything changes" },
  "host-address": { konta: "refuses", cli: "", why: "127.0.0.1:8093:80: docker stack deploy drops the address with a warning and publishes the port on every address of every node; Konta refuses" },
};

interface Answer {
  ok: boolean;
  error?: string;
  /** service name -> EndpointSpec and Mode */
  services?: Record<string, unknown>;
}

const endpoint = (e: { Mode?: string; Ports?: Record<string, unknown>[] } | undefined) => ({
  Mode: e?.Mode ?? "vip",
  // in their order: the engine keeps the one it is given
  Ports: (e?.Ports ?? []).map((p) => ({ Protocol: p.Protocol ?? "tcp", TargetPort: p.TargetPort, PublishedPort: p.PublishedPort ?? 0, PublishMode: p.PublishMode ?? "ingress" })),
});

function kontaAnswer(dir: string, name: string, repoRoot: string, facts: Parameters<typeof checkSwarmRules>[1], hostEnvDir?: string): Answer {
  const o = fixtureOptions[name] ?? {};
  let project;
  try {
    project = loadProject(dir, name, { repoRoot, processEnv: o.env ?? {}, passthrough: o.passthrough ?? [], profiles: o.profiles ?? [], ...(hostEnvDir ? { hostEnvDir } : {}) });
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  try {
    // docker stack deploy deploys every service of the file, and knows no konta.* label
    for (const s of Object.values(project.services)) Object.assign(s, { managed: true, stopped: false });
    const specs = desiredSpecs(project);
    const refused = checkSwarmRules([project], facts);
    if (refused) throw refused.error;
    return { ok: true, services: Object.fromEntries([...specs].map(([n, spec]) => [n, { EndpointSpec: endpoint(spec.EndpointSpec), Mode: spec.Mode }])) };
  } catch (err) {
    if (err instanceof ComposeKeyError) return { ok: false, error: refuseKey(project, repoRoot, err).message };
    return { ok: false, error: (err as Error).message };
  }
}

async function cliAnswer(boxDir: string, files: string[], env: Record<string, string>): Promise<Answer> {
  const r = await swarm.manager.exec(`cd ${boxDir} && docker stack deploy ${files.map((f) => `-c ${f}`).join(" ")} ora`, { env });
  try {
    if (r.code !== 0) return { ok: false, error: `${r.out}${r.err}` };
    const list = await swarmApi<{ Spec: { Name: string; Mode: unknown; EndpointSpec?: { Mode?: string; Ports?: Record<string, unknown>[] } } }[]>(
      swarm,
      `/services?filters=${encodeURIComponent(JSON.stringify({ label: ["com.docker.stack.namespace=ora"] }))}`,
    );
    return { ok: true, services: Object.fromEntries(list.map((s) => [s.Spec.Name.replace(/^ora_/, ""), { EndpointSpec: endpoint(s.Spec.EndpointSpec), Mode: s.Spec.Mode }])) };
  } finally {
    await removeStack(swarm, "ora");
  }
}

describe("docker stack deploy and Konta's swarm target accept the same files", () => {
  let facts: Parameters<typeof checkSwarmRules>[1];
  beforeAll(async () => {
    const networks = await swarmApi<{ Name: string }[]>(swarm, "/networks");
    facts = { services: [], nodes: swarmNodes(await swarmApi(swarm, "/nodes")), networks: new Set(networks.map((n) => n.Name)), fileExists: existsSync };
    for (const [name, files] of Object.entries(STACKS)) {
      const dir = join(work, "stacks", name);
      for (const [f, text] of Object.entries(files)) {
        Bun.spawnSync(["mkdir", "-p", dir]);
        writeFileSync(join(dir, f), text);
      }
    }
  });

  const cases = [
    ...readdirSync(join(FIXTURES, "apps")).map((name) => ({ name, kind: "fixture" as const })),
    ...Object.keys(STACKS).map((name) => ({ name, kind: "stack" as const })),
  ];
  for (const { name, kind } of cases) {
    test(`${kind} ${name}`, async () => {
      const root = kind === "fixture" ? FIXTURES : join(work, "stacks");
      const dir = kind === "fixture" ? join(FIXTURES, "apps", name) : join(root, name);
      const o = fixtureOptions[name] ?? {};
      let hostEnvDir: string | undefined;
      if (o.hostEnv) {
        hostEnvDir = mkdtempSync(join(work, "hostenv-"));
        writeFileSync(join(hostEnvDir, `${name}.env`), o.hostEnv, { mode: 0o600 });
      }
      const konta = kontaAnswer(dir, name, root, facts, hostEnvDir);
      // the CLI reads the shell's variables only: give it what Konta read from .env and the host file
      const dotenv = existsSync(join(dir, ".env")) ? parseDotenv(readFileSync(join(dir, ".env"), "utf8")) : {};
      const env = { ...dotenv, ...parseDotenv(o.hostEnv ?? ""), ...(o.env ?? {}) };
      // a copy in the manager, with the version line the 20.10 CLI insists on
      const boxDir = `/tmp/ora-src/${name}`;
      const from = kind === "fixture" ? `${SRC}/tests/fixtures/compose/apps/${name}` : "";
      if (from) await swarm.manager.sh(`rm -rf ${boxDir} && mkdir -p /tmp/ora-src && cp -r ${from} ${boxDir}`);
      else {
        await swarm.manager.sh(`rm -rf ${boxDir} && mkdir -p ${boxDir}`);
        for (const [f, text] of Object.entries(STACKS[name] ?? {})) await swarm.manager.sh(`cat > ${boxDir}/${f}`, { input: text });
      }
      const files = findComposeFiles(dir)?.files ?? [];
      for (const f of files) await swarm.manager.sh(`grep -q '^version:' ${boxDir}/${f} || sed -i '1i version: "3.9"' ${boxDir}/${f}`);
      const cli = await cliAnswer(boxDir, files, env);
      if (process.env.KONTA_ORACLE_DEBUG) console.log(`ORACLE ${name} cli=${cli.ok ? "ok" : `REFUSED ${cli.error?.split("\n").filter((l) => !/level=warning/.test(l)).join(" ").slice(0, 160)}`} konta=${konta.ok ? "ok" : `REFUSED ${konta.error?.slice(0, 200)}`}`);
      const difference = DIFFERENCES[name];
      if (difference) {
        expect({ konta: konta.ok ? "accepts" : "refuses", cli: cli.ok ? "accepts" : "refuses" }).toEqual({ konta: difference.konta, cli: difference.konta === "accepts" ? "refuses" : "accepts" });
        if (!cli.ok) expect(cli.error).toContain(difference.cli);
        if (!konta.ok) expect(konta.error).toMatch(/\.ya?ml(:\d+)?: (services|networks|volumes|secrets|configs)\b/);
        return;
      }
      expect({ konta: konta.ok, cli: cli.ok, error: konta.ok ? cli.error : konta.error }).toMatchObject({ konta: cli.ok, cli: cli.ok });
      if (konta.ok) expect(konta.services).toEqual(cli.services);
      // a refusal names the file and the key
      else expect(konta.error).toMatch(/\.ya?ml(:\d+)?: (services|networks|volumes|secrets|configs)\b|\.env/);
    }, 120_000);
  }
});
