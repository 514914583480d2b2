// The demo behind packaging/demo.sh: a real Git server on 127.0.0.1, a real engine, the real binary.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureEngine, engine, IMAGE } from "../tests/support/docker.ts";
import { startGitServer } from "../tests/support/git-server.ts";
import { runKonta } from "../tests/support/konta.ts";
import { TestRepo } from "../tests/support/repo.ts";

const DIR = process.env.KONTA_DEMO_DIR ?? "/tmp/konta-demo";
const PROJECT = "hello";
const PORT = Number(process.env.KONTA_DEMO_PORT ?? 8089);

async function clean(): Promise<void> {
  const filters = JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`, "konta.managed=true"] });
  const containers = await engine<{ Id: string }[]>("/containers/json", { query: { all: 1, filters } }).catch(() => []);
  for (const c of containers) await engine(`/containers/${c.Id}`, { method: "DELETE", query: { force: 1 } }).catch(() => {});
  await engine(`/networks/${PROJECT}_default`, { method: "DELETE" }).catch(() => {});
  rmSync(DIR, { recursive: true, force: true });
  console.log(`removed the demo: containers of project "${PROJECT}", its network and ${DIR}`);
}

if (process.argv.includes("--clean")) {
  await clean();
  process.exit(0);
}

await ensureEngine();
if (existsSync(DIR)) await clean();
mkdirSync(join(DIR, "git"), { recursive: true });
const token = "demo-token";
const server = await startGitServer({ root: join(DIR, "git"), token });
const repo = new TestRepo(join(DIR, "git"), "infra");
repo
  .write({
    [`apps/${PROJECT}/docker-compose.yml`]: `services:
  web:
    image: ${IMAGE}
    init: true
    command: httpd -f -p 80 -h /www
    ports: ["127.0.0.1:${PORT}:80"]
    labels:
      konta.managed: "true"
`,
  })
  .commit("hello app");
mkdirSync(join(DIR, "etc"), { recursive: true });
const config = join(DIR, "etc/config.yaml");
writeFileSync(config, `version: 1\nrepository:\n  url: ${server.repoUrl("infra")}\n  branch: main\n  token: ${token}\n`);
chmodSync(config, 0o600);

console.log(`$ konta sync --now --config ${config} --state-dir ${join(DIR, "state")}`);
const r = await runKonta(["sync", "--now", "--config", config, "--state-dir", join(DIR, "state")]);
process.stderr.write(r.stderr);
process.stdout.write(r.stdout);
const answer = await fetch(`http://127.0.0.1:${PORT}/`).then((x) => x.text(), () => "(no answer)");
console.log(`\n$ curl http://127.0.0.1:${PORT}/\n${answer}`);
console.log(`The app keeps running; see it with: docker ps --filter label=com.docker.compose.project=${PROJECT}`);
console.log("Clean up with: bash packaging/demo.sh --clean");
repo.dispose();
await server.close();
process.exit(r.code);
