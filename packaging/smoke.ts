// Smoke test of the release binary in true Docker-in-Docker: a container that runs its own
// dockerd (not the host's socket; the flags that replace --privileged are in tests/server/box.ts),
// the test Git server beside it on loopback, and dist/konta mounted as /usr/local/bin/konta.
// Inside it `konta sync` must deploy an app on that inner engine, a second run must be a no-op,
// an update must deploy and `konta rollback` must bring the first version back.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Box, SRC } from "../tests/server/box.ts";
import { TestRepo } from "../tests/support/repo.ts";

const ROOT = resolve(import.meta.dir, "..");
const BINARY = resolve(process.env.KONTA_BIN ?? join(ROOT, "dist/konta"));
const TOKEN = "smoke-token-0123456789";
const NAME = "kt-smoke-dind";

function check(cond: unknown, what: string): void {
  if (!cond) throw new Error(`smoke test failed: ${what}`);
  console.log(`ok   ${what}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync("/var/tmp/konta-smoke-");
  mkdirSync(join(work, "git"), { recursive: true });
  const repo = new TestRepo(join(work, "git"), "infra");
  let box: Box | undefined;
  try {
    box = await Box.start({
      name: NAME,
      command: ["dockerd", "--cgroup-parent=/konta-smoke", "--host=unix:///var/run/docker.sock"],
      mounts: { [join(work, "git")]: "/srv/git", [BINARY]: "/usr/local/bin/konta" },
    });
    const inner = box;
    const konta = async (args: string) => {
      const r = await inner.exec(`konta ${args} --config /etc/konta/config.yaml --state-dir /var/lib/konta`);
      process.stdout.write(`     $ konta ${args}\n${(r.out + r.err).replace(/^/gm, "       ")}\n`);
      return { code: r.code, out: r.out + r.err };
    };
    const page = async (want: string) => {
      for (let i = 0; i < 40; i++) {
        if ((await inner.exec("curl -fsS --max-time 2 http://127.0.0.1:18080/")).out === want) return true;
        await Bun.sleep(250);
      }
      return false;
    };
    await box.sh(`GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh`);
    check((await box.sh("docker info --format '{{.Name}}'")).trim() === NAME, "the container runs its own Docker engine");
    const app = (image: string) => `services:
  web:
    image: ${image}
    init: true
    command: httpd -f -p 80 -h /site
    ports: ["127.0.0.1:18080:80"]
    volumes: ["./site:/site:ro"]
    labels: { konta.managed: "true" }
`;
    const v1 = repo.write({ "apps/smoke/docker-compose.yml": app("konta-test/busybox:1"), "apps/smoke/site/index.html": "smoke v1\n" }).commit("v1");
    await box.sh(`install -d -m 0755 /etc/konta && install -m 0600 /dev/null /etc/konta/config.yaml
cat > /etc/konta/config.yaml <<'EOF'
version: 1
repository:
  url: http://127.0.0.1:8418/infra.git
  token: ${TOKEN}
deploy:
  min_uptime: 0.5
EOF`);
    check((await konta("version")).code === 0, "the release binary runs in the container");
    const first = await konta("sync");
    check(first.code === 0 && first.out.includes(`deployed ${v1.slice(0, 12)}`), "konta sync deploys an app on the inner engine");
    check(await page("smoke v1\n"), "the app answers, serving a file from the release");
    const second = await konta("sync");
    check(second.code === 0 && second.out.includes("up to date"), "a second run is a no-op");
    const v2 = repo.write({ "apps/smoke/docker-compose.yml": app("konta-test/busybox:2"), "apps/smoke/site/index.html": "smoke v2\n" }).commit("v2");
    check((await konta("sync")).code === 0, `v2 (${v2.slice(0, 12)}) deploys`);
    check(await page("smoke v2\n"), "v2 serves");
    const back = await konta("rollback");
    check(back.code === 0 && back.out.includes(`rolled back to ${v1.slice(0, 12)}`), "konta rollback works");
    check(await page("smoke v1\n"), "v1 serves again");
    check((await box.sh("docker ps -q --filter label=konta.managed=true | wc -l")).trim() === "1", "one managed container on the inner engine");
    console.log("smoke test passed");
  } finally {
    box?.remove();
    repo.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
