// A real multi-node Docker Swarm on one machine: N Docker-in-Docker boxes (the server-box image
// running dockerd alone) on one user-defined network, the first a manager, the others workers, the
// test images loaded on every node (verified recipe: ../shared/FACTS.md). The manager's socket is
// bind-mounted out, so Konta and the tests on this host talk to the cluster as on a manager.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Box, SRC } from "../server/box.ts";
import { BOX_LABEL, sh } from "./docker.ts";

export interface Swarm {
  nodes: Box[];
  manager: Box;
  /** the manager's engine socket, on this host */
  socket: string;
  /** node name (the box's hostname) -> box */
  byName: Map<string, Box>;
  /** with `registry`: host:port of a registry on the manager that every node pulls from */
  registry?: string;
  close(): void;
}

// the nodes' network: a subnet of its own, so that the registry on the manager can be named insecure
// (plain HTTP) to all, and so that it never competes for the engine's address pools with the host
// tests that run beside (one of them exhausts them on purpose)
const SUBNET = "10.231.7.0/24";
const PLAIN_SUBNET = "10.231.8.0/24";

export async function startSwarm(size: number, prefix = "kt-swarm", opts: { registry?: boolean } = {}): Promise<Swarm> {
  // not named kt-*: the host tests' clean-up removes networks by that prefix
  const network = `box-${prefix}-net`;
  Bun.spawnSync(["docker", "network", "rm", network], { stdout: "ignore", stderr: "ignore" });
  sh("docker", ["network", "create", "--label", `${BOX_LABEL}=1`, "--subnet", opts.registry ? SUBNET : PLAIN_SUBNET, network]);
  // after the network: a failure above leaves nothing behind
  const dir = mkdtempSync(`/var/tmp/${prefix}-`);
  // no registry is reachable: lookups fail at once instead of after a DNS timeout
  writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\n");
  const nodes = await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const sock = join(dir, `node${i}`);
      mkdirSync(sock);
      return Box.start({
        name: `${prefix}-${i}`,
        mounts: { [sock]: "/run/kt-host", [join(dir, "resolv.conf")]: "/etc/resolv.conf" },
        // without a registry the tasks would wait in "Preparing" for a pull that cannot work; with
        // one the nodes must pull (a Swarm that prefers offline images never does)
        extra: ["--network", network, ...(opts.registry ? [] : ["-e", "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1"])],
        command: [
          "dockerd",
          "--host=unix:///var/run/docker.sock",
          "--host=unix:///run/kt-host/docker.sock",
          `--cgroup-parent=/${prefix}-${i}`,
          ...(opts.registry ? [`--insecure-registry=${SUBNET}`] : []),
        ],
      });
    }),
  );
  const close = () => {
    for (const n of nodes) n.remove();
    Bun.spawnSync(["docker", "network", "rm", network], { stdout: "ignore", stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.sh(`bash ${SRC}/tests/server/box-setup.sh`)));
    const ip = (n: Box) => n.sh("hostname -i | awk '{print $1}'").then((s) => s.trim());
    const manager = nodes[0] as Box;
    const managerIp = await ip(manager);
    await manager.sh(`docker swarm init --advertise-addr ${managerIp} >/dev/null`);
    const token = (await manager.sh("docker swarm join-token -q worker")).trim();
    await Promise.all(nodes.slice(1).map(async (n) => n.sh(`docker swarm join --advertise-addr ${await ip(n)} --token ${token} ${managerIp}:2377 >/dev/null`)));
    await manager.waitFor(`${size} Ready nodes`, `test "$(docker node ls --format '{{.Status}}' | grep -c Ready)" = ${size}`, 60_000);
    if (opts.registry) {
      // Debian's docker-registry, without systemd in these boxes, no auth (tests/server covers auth)
      await manager.sh(`printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/docker-registry\nhttp:\n  addr: 0.0.0.0:5000\n' >/etc/kt-registry.yml
        nohup setsid docker-registry serve /etc/kt-registry.yml >/var/log/kt-registry.log 2>&1 &`);
      await manager.waitFor("the registry", "curl -fsS -o /dev/null http://127.0.0.1:5000/v2/", 30_000);
    }
    const registry = opts.registry ? `${managerIp}:5000` : undefined;
    return { nodes, manager, socket: join(dir, "node0/docker.sock"), byName: new Map(nodes.map((n) => [n.name, n])), ...(registry ? { registry } : {}), close };
  } catch (err) {
    close();
    throw err;
  }
}

/** A request to the manager's Engine API (JSON in and out). */
/**
 * A stack removed on the manager until nothing of it is left. `docker stack rm` removes the services,
 * then the network at once: while a task still stops, the network is "in use" and the CLI exits 1
 * with it left, so it is asked again. Throws if something is left after 150 tries (0.2 s apart).
 */
export async function removeStack(swarm: Swarm, stack: string): Promise<void> {
  const of = `-q -f label=com.docker.stack.namespace=${stack}`;
  await swarm.manager.sh(`left() { echo "$(docker service ls ${of})$(docker network ls ${of})$(docker config ls ${of})$(docker secret ls ${of})"; }
    for i in $(seq 1 150); do [ -z "$(left)" ] && break; docker stack rm ${stack} >/dev/null 2>&1 || true; sleep 0.2; done
    [ -z "$(left)" ] || { echo "stack ${stack} still has: $(left)" >&2; exit 1; }`);
}

export async function swarmApi<T = unknown>(swarm: Swarm, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`http://localhost${path}`, {
    unix: swarm.socket,
    method: init.method ?? "GET",
    headers: { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  } as RequestInit);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
