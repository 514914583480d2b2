// deploy.target: swarm as it runs on a real manager: a server box (systemd as PID 1, its own
// engine made a one-node swarm), Konta installed with packaging/install.sh and driven by the real
// konta.timer under the hardened konta.service. What differs from a manual run (sandbox, HOME,
// umask, environment) must not change what reaches the Swarm: the SOPS secret is opened inside
// the sandbox, drift is repaired by a timer run. The multi-node behaviour is tests/swarm/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kontaBinary } from "../support/konta.ts";
import { TestRepo } from "../support/repo.ts";
import { Box, SRC } from "./box.ts";

const TOKEN = "swarm-box-token-7c2e4a";
const CONFIG = "/etc/konta/config.yaml";
const FIX = join(import.meta.dir, "../fixtures/sops");

let box: Box;
let repo: TestRepo;
let tmp: string;

const APP = (version: string) => ({
  "apps/shop/docker-compose.yml": `services:
  app:
    image: konta-test/busybox:1
    command: ["sh", "-c", "echo ${version} $$(cat /run/secrets/db_password); exec sleep 3600"]
    labels: { konta.managed: "true" }
    secrets: [db_password]
    deploy:
      replicas: 2
      update_config: { parallelism: 1, order: start-first }
secrets:
  db_password: { file: ./db.json }
`,
  "apps/shop/db.json": readFileSync(join(FIX, "secret.enc.json"), "utf8"),
});

interface Status {
  live?: { sha: string };
  lastAttempt?: { result: string };
  target: string;
  nodes: { name: string; role: string; state: string; availability: string; leader?: boolean }[];
  projects: { name: string; services: { name: string; replicas: number; containers: { state: string; node?: string }[] }[] }[];
  drift: unknown[];
}

const status = async () => JSON.parse(await box.sh("konta status --json")) as Status;

const poll = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000) => box.poll(what, fn, timeoutMs);

const replicas = async (service: string) => (await box.sh(`docker service ls --filter name=${service} --format '{{.Replicas}}'`)).trim();

beforeAll(async () => {
  kontaBinary();
  tmp = mkdtempSync("/var/tmp/konta-swarm-server-");
  repo = new TestRepo(join(tmp, "git"), "infra");
  // no registry is reachable from here: a lookup (the image digest Konta asks for) fails at once
  writeFileSync(join(tmp, "resolv.conf"), "nameserver 127.0.0.1\n");
  box = await Box.start({ name: "kt-swarm-server", mounts: { [join(tmp, "git")]: "/srv/git", [join(tmp, "resolv.conf")]: "/etc/resolv.conf" } });
  await box.sh(`GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh`);
  // no registry is reachable: tasks use the loaded image at once instead of waiting on a lookup
  await box.sh(`mkdir -p /etc/systemd/system/docker.service.d
    printf '[Service]\\nEnvironment=DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1\\n' >/etc/systemd/system/docker.service.d/offline.conf
    systemctl daemon-reload && systemctl restart docker && docker info >/dev/null`);
  await box.sh("docker swarm init --advertise-addr $(hostname -i | awk '{print $1}') >/dev/null");
}, 300_000);

afterAll(() => {
  box?.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("Konta on a Swarm manager, driven by konta.timer", () => {
  test("install.sh, deploy.target: swarm, an age key: the timer's first deploy makes the stack, the SOPS secret opened in the sandbox", async () => {
    const sha = repo.write(APP("v1")).commit("v1");
    await box.sh(
      `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo http://127.0.0.1:8418/infra.git --branch main --interval 10 --no-enable`,
      { input: `${TOKEN}\n` },
    );
    await box.sh("install -m 600 /dev/stdin /etc/konta/age.key", { input: `${readFileSync(join(FIX, "key.txt"), "utf8")}\n` });
    await box.sh(`sed -i 's/^deploy:/deploy:\\n  target: swarm/; s/^  health_timeout: 120/  health_timeout: 60/' ${CONFIG} && systemctl enable --now konta.timer`);
    await poll("the timer's deploy", async () => (await status()).live?.sha === sha);
    expect(await replicas("shop_app")).toBe("2/2");
    expect(await box.sh("docker stack ls --format '{{.Name}}'")).toBe("shop\n");
    expect(await poll("the decrypted secret in the task's output", async () => (await box.sh("docker service logs --raw shop_app")).includes("v1 {") || undefined)).toBe(true);
    expect(await box.sh("docker service logs --raw shop_app")).toContain("this is a secret");
    // nobody ran konta by hand: the deploy is in konta.service's journal; the secret is not on disk
    expect(await box.sh("journalctl -u konta.service --no-pager")).toContain(`deployed ${sha.slice(0, 12)}`);
    expect((await box.sh("grep -rl 'this is a secret' /var/lib/konta/secrets 2>/dev/null || true")).trim()).toBe("");
    const s = await status();
    expect(s.target).toBe("swarm");
    expect(s.nodes).toEqual([{ name: "kt-swarm-server", role: "manager", state: "ready", availability: "active", leader: true }]);
    expect(s.projects[0]?.services[0]?.containers.map((c) => `${c.state} ${c.node}`)).toEqual(["running kt-swarm-server", "running kt-swarm-server"]);
  });

  test("a manual plan (a login shell's umask and environment) agrees with what the timer deployed", async () => {
    const plan = await box.exec("umask 022; konta plan");
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out).toContain("up to date");
  });

  test("scaled by hand: the next timer run puts it back; a new commit rolls through", async () => {
    await box.sh("docker service scale -d shop_app=1 >/dev/null");
    await poll("the timer repairing the scale", async () => (await box.sh("docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' shop_app")).trim() === "2");
    expect(await box.sh("journalctl -u konta.service --no-pager")).toContain("shop/app: shop_app: scaled to 1, should be 2");
    const sha = repo.write(APP("v2")).commit("v2");
    await poll("the timer's deploy of v2", async () => (await status()).live?.sha === sha);
    expect(await poll("v2 tasks", async () => (await box.sh("docker service logs --raw shop_app")).includes("v2 {") || undefined)).toBe(true);
    // start-first: the old tasks stop once the new ones run
    await poll("two tasks once the old ones stopped", async () => (await replicas("shop_app")) === "2/2");
    expect((await status()).drift).toEqual([]);
  });
});
