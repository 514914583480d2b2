// Smoke test of the release binary the way it ships: dist/konta is put, with only the shared
// libraries `ldd` says it needs (and bash for hooks), into a minimal image made offline with
// `docker import`. That image runs as a container with the engine's socket mounted and the
// host's network (to reach the test Git server on 127.0.0.1); inside it `konta sync` must deploy an
// app on the host engine, a second run must be a no-op, and `konta rollback` must work.
//
// The state directory is bind-mounted at the same path inside and outside the container: bind
// mounts of files from a release are resolved by the engine on the host.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cleanup, engine, ensureEngine, freePort, httpGet, IMAGE, IMAGE2, sh, TEST_LABEL, waitFor } from "../tests/support/docker.ts";
import { startGitServer } from "../tests/support/git-server.ts";
import { TestRepo } from "../tests/support/repo.ts";

const ROOT = resolve(import.meta.dir, "..");
const BINARY = process.env.KONTA_BIN ?? join(ROOT, "dist/konta");
const SMOKE_IMAGE = "konta-test/konta-smoke:1";
const TOKEN = "smoke-token-0123456789";

function check(cond: unknown, what: string): void {
  if (!cond) throw new Error(`smoke test failed: ${what}`);
  console.log(`ok   ${what}`);
}

/** The binary and its shared libraries (from ldd), plus bash for hooks, on an otherwise empty root. */
function buildImage(): void {
  const rootfs = mkdtempSync(join(tmpdir(), "konta-smoke-rootfs-"));
  try {
    const files = new Set<string>(["/bin/bash"]);
    for (const exe of [BINARY, "/bin/bash"]) {
      const ldd = spawnSync("ldd", [exe], { encoding: "utf8" }).stdout;
      for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) files.add(m[1] as string);
    }
    // at the paths the loader looks for them, as plain files (no host symlink layout needed)
    sh("cp", ["-L", "--parents", ...files, rootfs]);
    mkdirSync(join(rootfs, "usr/local/bin"), { recursive: true });
    copyFileSync(BINARY, join(rootfs, "usr/local/bin/konta"));
    chmodSync(join(rootfs, "usr/local/bin/konta"), 0o755);
    for (const d of ["tmp", "etc", "root", "var/lib"]) mkdirSync(join(rootfs, d), { recursive: true });
    chmodSync(join(rootfs, "tmp"), 0o1777);
    writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    writeFileSync(join(rootfs, "etc/group"), "root:x:0:\n");
    sh("bash", ["-c", `tar -C '${rootfs}' -c . | docker import -c 'ENTRYPOINT ["/usr/local/bin/konta"]' -c 'ENV PATH=/usr/local/bin:/bin' - ${SMOKE_IMAGE} >/dev/null`]);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/** `konta <args>` in a fresh container of the smoke image. */
async function kontaInContainer(state: string, config: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(
    [
      "docker", "run", "--rm", "--network", "host", "--label", `${TEST_LABEL}=1`,
      "-v", "/var/run/docker.sock:/var/run/docker.sock",
      "-v", `${state}:${state}`,
      "-v", `${dirname(config)}:${dirname(config)}:ro`,
      SMOKE_IMAGE, ...args, "--config", config, "--state-dir", state,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  process.stdout.write(`     $ konta ${args.join(" ")}\n${(out + err).replace(/^/gm, "       ")}\n`);
  return { code, out: out + err };
}

async function main(): Promise<void> {
  await ensureEngine();
  buildImage();
  const work = mkdtempSync(join(tmpdir(), "konta-smoke-"));
  mkdirSync(join(work, "git"), { recursive: true });
  const git = await startGitServer({ root: join(work, "git"), token: TOKEN });
  const repo = new TestRepo(join(work, "git"), "infra");
  const port = await freePort();
  const app = (image: string) => `services:
  web:
    image: ${image}
    init: true
    command: httpd -f -p 80 -h /site
    ports: ["127.0.0.1:${port}:80"]
    volumes: ["./site:/site:ro"]
    labels: { konta.managed: "true" }
`;
  const v1 = repo.write({ "apps/kt-smoke/docker-compose.yml": app(IMAGE), "apps/kt-smoke/site/index.html": "smoke v1\n" }).commit("v1");
  const state = join(work, "state");
  mkdirSync(join(work, "etc"), { recursive: true });
  mkdirSync(state, { recursive: true });
  const config = join(work, "etc/config.yaml");
  writeFileSync(config, `version: 1\nrepository:\n  url: ${git.repoUrl("infra")}\n  token: ${TOKEN}\ndeploy:\n  min_uptime: 0.5\n`);
  chmodSync(config, 0o600);
  try {
    check((await kontaInContainer(state, config, "version")).code === 0, "the binary runs in a minimal image with only its ldd libraries");
    const first = await kontaInContainer(state, config, "sync");
    check(first.code === 0 && first.out.includes(`deployed ${v1.slice(0, 12)}`), "konta sync in a container deploys an app on the host engine");
    check((await waitFor(() => httpGet(port), 10_000, "the app")) === "smoke v1\n", "the app answers, serving a file from the release");
    const second = await kontaInContainer(state, config, "sync");
    check(second.code === 0 && second.out.includes("up to date"), "a second run is a no-op");
    const v2 = repo.write({ "apps/kt-smoke/docker-compose.yml": app(IMAGE2), "apps/kt-smoke/site/index.html": "smoke v2\n" }).commit("v2");
    check((await kontaInContainer(state, config, "sync")).code === 0, `v2 (${v2.slice(0, 12)}) deploys`);
    check((await waitFor(async () => ((await httpGet(port)) === "smoke v2\n" ? true : undefined), 10_000, "v2")) === true, "v2 serves");
    const back = await kontaInContainer(state, config, "rollback");
    check(back.code === 0 && back.out.includes(`rolled back to ${v1.slice(0, 12)}`), "konta rollback works");
    check((await waitFor(async () => ((await httpGet(port)) === "smoke v1\n" ? true : undefined), 10_000, "v1")) === true, "v1 serves again");
    console.log("smoke test passed");
  } finally {
    await git.close();
    repo.dispose();
    await cleanup();
    await engine(`/images/${encodeURIComponent(SMOKE_IMAGE)}`, { method: "DELETE", query: { force: 1 } }).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
