// The product's own use case on a real application (issue 34): WordPress and MariaDB, built offline
// from Debian's packages (tests/apps/images.sh), on a server in a box driven by konta.timer. The
// repository is examples/wordpress as a person copies it; its apps/blog/.env picks the images (the
// example's defaults are the official ones) and the server's /etc/konta/env/blog.env holds the
// passwords. The scenarios run in order, as one blog's life: data must survive every one of them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { sh } from "../support/docker.ts";
import { kontaBinary } from "../support/konta.ts";
import { type FileSpec, TestRepo } from "../support/repo.ts";
import { Box, SRC } from "../server/box.ts";

const TOKEN = "wp-box-token-7c41a0";
const EXAMPLE = resolve(import.meta.dir, "../../examples/wordpress");
const APPS_CACHE = process.env.KONTA_APPS_CACHE ?? "/var/cache/konta-tests/apps-1";
const PORT = 18090;
const ADMIN = { user: "admin", password: "wp-admin-pw-51c2" };
const POST = "Konta keeps this post";

let box: Box;
let repo: TestRepo;
let tmp: string;
const shas: Record<string, string> = {};
let postId = "";
/** the database container, which no scenario may recreate */
let db = "";

/**
 * The example repository as a person copies it, with the images this machine has (`env`: more of
 * apps/blog/.env); `berlin`: WordPress's environment changed (TZ), nothing else.
 */
function example(env: Record<string, string>, berlin = false): Record<string, FileSpec> {
  const files: Record<string, FileSpec> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else files[relative(EXAMPLE, path)] = { content: readFileSync(path, "utf8"), mode: st.mode & 0o777 };
    }
  };
  walk(EXAMPLE);
  if (berlin) {
    const compose = files["apps/blog/docker-compose.yml"] as { content: string };
    compose.content = compose.content.replace("      WORDPRESS_DB_NAME: wordpress\n", "      WORDPRESS_DB_NAME: wordpress\n      TZ: Europe/Berlin\n");
  }
  files["apps/blog/.env"] = Object.entries({ MARIADB_IMAGE: "konta-apps/mariadb:10.11", WORDPRESS_IMAGE: "konta-apps/wordpress:6.1", HTTP_PORT: `127.0.0.1:${PORT}`, ...env })
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  return files;
}

interface Status {
  live?: { sha: string };
  failed?: { sha: string; error: string };
  held?: { sha: string };
}
const status = async () => JSON.parse(await box.sh("konta status --json")) as Status;
const liveAt = (sha: string, timeoutMs = 240_000) => box.poll(`live release ${sha.slice(0, 12)}`, async () => (await status()).live?.sha === sha || undefined, timeoutMs);
const containerId = async (name: string) => (await box.sh(`docker inspect -f '{{.Id}}' ${name}`)).trim();
/** Whether the container runs that image (a put-back or rollback names it by ID: the image the release ran). */
const runs = async (name: string, ref: string) => (await box.sh(`docker inspect -f '{{.Image}}' ${name}`)).trim() === (await box.sh(`docker image inspect -f '{{.Id}}' ${ref}`)).trim();
const http = (path: string, args = "") => box.exec(`curl -sS --max-time 20 ${args} 'http://127.0.0.1:${PORT}${path}'`);
/** The newest dump pre.sh made. */
const lastDump = async () => (await box.sh("ls -1t /var/backups/konta/blog-*.sql.gz | head -n 1")).trim();
/** The post, as a visitor sees it. */
const served = async () => (await http(`/?p=${postId}`)).out.includes(POST);

/** A server in a box with the Git server (the repository mounted) and the application images. */
async function startServer(name: string): Promise<Box> {
  const server = await Box.start({ name, mounts: { [join(tmp, "git")]: "/srv/git", [APPS_CACHE]: "/opt/konta-apps" } });
  await server.sh(`GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh && KONTA_APPS_CACHE=/opt/konta-apps bash ${SRC}/tests/apps/images.sh`);
  return server;
}

/**
 * As the README's worked example: install.sh as in the Quick start (timer every 10 s), the passwords
 * in the server's env file for the project, time for a first start of MariaDB on this disk, then the timer.
 */
async function installKonta(target: Box, passwords: string): Promise<void> {
  await target.sh(
    `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo http://127.0.0.1:8418/blog.git --branch main --interval 10 --no-enable`,
    { input: `${TOKEN}\n` },
  );
  await target.sh("install -m 0600 /dev/null /etc/konta/env/blog.env && cat >/etc/konta/env/blog.env", { input: passwords });
  await target.sh("sed -i 's/^  health_timeout: 120/  health_timeout: 300/' /etc/konta/config.yaml && systemctl enable --now konta.timer");
}

beforeAll(async () => {
  kontaBinary();
  // the roots of the application images, made once on the host (debootstrap) and cached
  sh("bash", [resolve(import.meta.dir, "images.sh"), "--roots"]);
  tmp = mkdtempSync("/var/tmp/konta-wp-");
  repo = new TestRepo(join(tmp, "git"), "blog");
  box = await startServer("kt-wp-box");
}, 900_000);

afterAll(() => {
  if (process.env.KONTA_KEEP_BOX) return console.log(`kept the box: docker exec -it ${box?.name} bash`);
  box?.remove();
  repo?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("WordPress on a server in a box, driven by konta.timer", () => {
  test("first deploy by the timer; WordPress installed and a post published over HTTP", async () => {
    shas.v1 = repo.write(example({})).commit("the blog");
    const pw = () => Math.random().toString(36).slice(2);
    await installKonta(box, `DB_PASSWORD=${pw()}\nDB_ROOT_PASSWORD=${pw()}\n`);
    await liveAt(shas.v1, 600_000);
    // the install form, as the browser posts it
    const install = await http(
      "/wp-admin/install.php?step=2",
      `-d weblog_title=Konta -d user_name=${ADMIN.user} -d admin_password=${ADMIN.password} -d admin_password2=${ADMIN.password} -d pw_weak=1 -d admin_email=admin@konta.invalid -d blog_public=0`,
    );
    expect(install.out, install.err).toContain("Success!");
    // a post over XML-RPC, with the administrator's password
    const call = `<?xml version="1.0"?><methodCall><methodName>wp.newPost</methodName><params>
<param><value><int>1</int></value></param><param><value><string>${ADMIN.user}</string></value></param><param><value><string>${ADMIN.password}</string></value></param>
<param><value><struct><member><name>post_title</name><value><string>${POST}</string></value></member>
<member><name>post_content</name><value><string>Written before every deploy of this test.</string></value></member>
<member><name>post_status</name><value><string>publish</string></value></member></struct></value></param></params></methodCall>`;
    const created = await box.exec(`curl -sS --max-time 20 -H 'Content-Type: text/xml' --data-binary @- http://127.0.0.1:${PORT}/xmlrpc.php`, { input: call });
    postId = /<string>(\d+)<\/string>/.exec(created.out)?.[1] ?? "";
    expect(postId, created.out + created.err).toMatch(/^\d+$/);
    expect(await served()).toBe(true);
  }, 900_000);

  test("a commit that changes only WordPress's environment: WordPress is recreated, the database is not touched, pre.sh dumped it first", async () => {
    db = await containerId("blog-db-1");
    const wp = await containerId("blog-wordpress-1");
    shas.env = repo.write(example({}, true)).commit("WordPress in Berlin time");
    await liveAt(shas.env);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await containerId("blog-wordpress-1")).not.toBe(wp);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
    // the dump pre.sh made before this deploy holds the post
    const dump = (await box.sh(`ls -1t /var/backups/konta/blog-*-${shas.env.slice(0, 12)}.sql.gz | head -n 1`)).trim();
    expect(await box.sh(`gunzip -c ${dump} | grep -c '${POST}'`)).not.toBe("0\n");
  }, 600_000);

  test("a commit that updates the WordPress image: the post is still there, the database untouched", async () => {
    db = await containerId("blog-db-1");
    // a rebuild of the image under a new tag, as a CI job would push one
    await box.sh("printf 'FROM konta-apps/wordpress:6.1\\nLABEL org.example.revision=2\\n' | docker build -q -t konta-apps/wordpress:6.1-r2 - >/dev/null");
    shas.r2 = repo.write(example({ WORDPRESS_IMAGE: "konta-apps/wordpress:6.1-r2" }, true)).commit("WordPress image r2");
    await liveAt(shas.r2);
    expect(await runs("blog-wordpress-1", "konta-apps/wordpress:6.1-r2")).toBe(true);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
  }, 600_000);

  test("an image that fails its healthcheck: rolled back, the site serves the post, the commit is not retried", async () => {
    // Apache serves its default site instead of WordPress: /wp-login.php answers 404
    await box.sh("printf 'FROM konta-apps/wordpress:6.1\\nRUN a2dissite konta >/dev/null && a2ensite 000-default >/dev/null\\n' | docker build -q -t konta-apps/wordpress:broken - >/dev/null");
    const bad = repo.write(example({ WORDPRESS_IMAGE: "konta-apps/wordpress:broken" }, true)).commit("a broken WordPress image");
    await box.poll("the broken commit failed", async () => (await status()).failed?.sha === bad || undefined, 600_000);
    const s = await status();
    expect(s.live?.sha).toBe(shas.r2);
    expect(await runs("blog-wordpress-1", "konta-apps/wordpress:6.1-r2")).toBe(true);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
    // the next ticks skip it
    await box.waitFor("a tick skipping it", `journalctl -u konta.service --no-pager -o cat | grep -q 'skipped ${bad.slice(0, 12)}'`, 60_000);
  }, 900_000);

  test("konta rollback to the first release: its image and environment back, the data intact", async () => {
    const r = await box.exec(`konta rollback ${shas.v1}`);
    expect(r.code, r.out + r.err).toBe(0);
    expect(await runs("blog-wordpress-1", "konta-apps/wordpress:6.1")).toBe(true);
    expect(await box.sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' blog-wordpress-1")).not.toContain("TZ=");
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
    expect((await status()).held?.sha).toBe(shas.v1);
  }, 600_000);

  test("the last dump of pre.sh restores into an empty MariaDB", async () => {
    const dump = await lastDump();
    await box.sh("docker rm -f restore-check >/dev/null 2>&1; docker run -d --name restore-check -e MARIADB_ROOT_PASSWORD=check konta-apps/mariadb:10.11 >/dev/null");
    try {
      await box.waitFor("the empty MariaDB", "docker exec restore-check mariadb -uroot -pcheck -e 'SELECT 1' >/dev/null", 180_000, 1000);
      await box.sh(`gunzip -c ${dump} | docker exec -i restore-check mariadb -uroot -pcheck`);
      const title = await box.sh(`docker exec restore-check mariadb -uroot -pcheck -N -e 'SELECT post_title FROM wordpress.wp_posts WHERE ID = ${postId}'`);
      expect(title.trim()).toBe(POST);
    } finally {
      await box.exec("docker rm -f -v restore-check");
    }
  }, 600_000);

  test("disaster recovery: a new server, install.sh, the same repository and the last dump serve the same post", async () => {
    // what the operator kept: the last dump and the passwords (the repository is on the Git server)
    const dump = await lastDump();
    const kept = join(tmp, "kept.sql.gz");
    sh("docker", ["cp", `${box.name}:${dump}`, kept]);
    const passwords = await box.sh("cat /etc/konta/env/blog.env");
    await box.sh("systemctl stop konta.timer");
    box.remove();
    const fresh = await startServer("kt-wp-box-2");
    try {
      sh("docker", ["cp", kept, `${fresh.name}:/root/blog.sql.gz`]);
      const started = Date.now();
      await installKonta(fresh, passwords);
      // the branch as it should be (the broken image reverted): the old server's rollback hold was its own
      const head = repo.write(example({}, true)).commit("revert the broken image");
      await fresh.poll(`live release ${head.slice(0, 12)}`, async () => (JSON.parse(await fresh.sh("konta status --json")) as Status).live?.sha === head || undefined, 600_000);
      await fresh.sh(`gunzip -c /root/blog.sql.gz | docker exec -i blog-db-1 sh -c 'mariadb -uroot -p"$(cat /run/secrets/db_root_password)"'`);
      const page = await fresh.poll("the post served", async () => {
        const r = await fresh.exec(`curl -sS --max-time 20 'http://127.0.0.1:${PORT}/?p=${postId}'`);
        return r.out.includes(POST) || undefined;
      }, 120_000);
      expect(page).toBe(true);
      console.log(`disaster recovery: install.sh to the post served in ${((Date.now() - started) / 1000).toFixed(1)} s (images already on the server)`);
    } finally {
      if (!process.env.KONTA_KEEP_BOX) fresh.remove();
    }
  }, 900_000);
});
