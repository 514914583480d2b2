// The product's own use case on a real application (issue 34): WordPress and MariaDB, built offline
// from Debian's packages (tests/apps/images.sh), on a 512 MB server in a box (its containers counted
// against the limit) driven by konta.timer. The repository is examples/wordpress as a person copies
// it; its apps/blog/.env picks the images (the example's defaults are the official ones) and the
// server's /etc/konta/env/blog.env holds the passwords. The scenarios run in order, as one blog's
// life: data must survive every one of them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sh } from "../support/docker.ts";
import type { TestRepo } from "../support/repo.ts";
import type { Box } from "../server/box.ts";
import { example as blog, IMAGES, installAndPost, passwords, POST, served as servedBy, type Variant } from "./blog.ts";
import { exampleServer, installKonta, removeExampleServer, startBox } from "./examples.ts";

const TOKEN = "wp-box-token-7c41a0";
const PORT = 18090;
/** the box's own registry (tests/server/box-setup.sh), where a CI job elsewhere would push the blog's image */
const REGISTRY = "localhost:5000";
const FOLLOWED = `${REGISTRY}/blog/wordpress:6.1`;
const REPO = "http://127.0.0.1:8418/blog.git";

let box: Box;
let repo: TestRepo;
let tmp: string;
const shas: Record<string, string> = {};
let postId = "";
/** the database container, which no scenario may recreate */
let db = "";

/** WordPress's environment changed (TZ), nothing else */
const BERLIN = { TZ: "Europe/Berlin" };
const example = (v: Variant = {}) => blog(PORT, v);

interface Status {
  live?: { sha: string };
  failed?: { sha: string; error: string };
  held?: { sha: string };
  imageUpdates?: { updated?: { at: string }; failed?: Record<string, string> };
}
const status = async () => JSON.parse(await box.sh("konta status --json")) as Status;
const liveAt = (sha: string, timeoutMs = 240_000) => box.poll(`live release ${sha.slice(0, 12)}`, async () => (await status()).live?.sha === sha || undefined, timeoutMs);
const containerId = async (name: string) => (await box.sh(`docker inspect -f '{{.Id}}' ${name}`)).trim();
/** Whether the container runs that image (a put-back or rollback names it by ID: the image the release ran). */
const runs = async (name: string, ref: string) => (await box.sh(`docker inspect -f '{{.Image}}' ${name}`)).trim() === (await box.sh(`docker image inspect -f '{{.Id}}' ${ref}`)).trim();
/** The newest dump pre.sh made. */
const lastDump = async () => (await box.sh("ls -1t /var/backups/konta/blog-*.sql.gz | head -n 1")).trim();
/** The post, as a visitor sees it. */
const served = () => servedBy(box, PORT, postId);

// a 512 MB server, as the README's title says: the 100-commit run is bench/wordpress-512.ts
const SERVER = { repo: "blog", token: TOKEN, images: IMAGES, registryUsers: "ci:ci-pw-3e1", memory: "512m" };

beforeAll(async () => {
  ({ box, repo, tmp } = await exampleServer("kt-wp-box", SERVER));
}, 900_000);

afterAll(() => removeExampleServer({ box, repo, tmp }));

describe("WordPress on a server in a box, driven by konta.timer", () => {
  test("first deploy by the timer; WordPress installed and a post published over HTTP", async () => {
    shas.v1 = repo.write(example()).commit("the blog");
    await installKonta(box, { repo: REPO, token: TOKEN, project: "blog", secrets: passwords() });
    await liveAt(shas.v1, 600_000);
    postId = await installAndPost(box, PORT);
    expect(await served()).toBe(true);
  }, 900_000);

  test("a commit that changes only WordPress's environment: WordPress is recreated, the database is not touched, pre.sh dumped it first", async () => {
    db = await containerId("blog-db-1");
    const wp = await containerId("blog-wordpress-1");
    shas.env = repo.write(example({ wordpressEnv: BERLIN })).commit("WordPress in Berlin time");
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
    shas.r2 = repo.write(example({ env: { WORDPRESS_IMAGE: "konta-apps/wordpress:6.1-r2" }, wordpressEnv: BERLIN })).commit("WordPress image r2");
    await liveAt(shas.r2);
    expect(await runs("blog-wordpress-1", "konta-apps/wordpress:6.1-r2")).toBe(true);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
  }, 600_000);

  test("konta.image-updates: a new image pushed under WordPress's tag is deployed with no commit, the data kept; a broken push is rolled back", async () => {
    const imageId = async (ref: string) => (await box.sh(`docker image inspect -f '{{.Id}}' ${ref}`)).trim();
    const wordpressImage = async () => (await box.sh("docker inspect -f '{{.Image}}' blog-wordpress-1")).trim();
    const imageUpdates = async () => (await status()).imageUpdates;
    // what a CI job elsewhere does: push under the tag; the server's own tag stays where it was
    const push = (image: string, after: string) => box.sh(`docker tag ${image} ${FOLLOWED} && docker push -q ${FOLLOWED} >/dev/null && docker tag ${after} ${FOLLOWED}`);
    await box.sh(`echo ci-pw-3e1 | docker login -u ci --password-stdin ${REGISTRY} >/dev/null
      sed -i 's/^deploy:/deploy:\\n  image_update_interval: 10/' /etc/konta/config.yaml`);
    await push("konta-apps/wordpress:6.1-r2", "konta-apps/wordpress:6.1-r2");
    shas.follow = repo.write(example({ env: { WORDPRESS_IMAGE: FOLLOWED }, wordpressEnv: BERLIN, follow: true })).commit("WordPress from the registry, following its tag");
    await liveAt(shas.follow);
    // r2 still, now by the registry's name
    expect(await wordpressImage()).toBe(await imageId("konta-apps/wordpress:6.1-r2"));

    // r3, a rebuild under the same tag
    await box.sh("printf 'FROM konta-apps/wordpress:6.1\\nLABEL org.example.revision=3\\n' | docker build -q -t konta-apps/wordpress:6.1-r3 - >/dev/null");
    const r3 = await imageId("konta-apps/wordpress:6.1-r3");
    await push("konta-apps/wordpress:6.1-r3", "konta-apps/wordpress:6.1-r2");
    await box.poll("r3 deployed by an idle tick", async () => ((await imageUpdates())?.updated && (await wordpressImage()) === r3) || undefined, 300_000);
    expect((await status()).live?.sha).toBe(shas.follow);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);

    // a broken image pushed under the tag: the health gate fails, r3 runs again, the digest is not retried
    await box.sh("printf 'FROM konta-apps/wordpress:6.1\\nRUN a2dissite konta >/dev/null && a2ensite 000-default >/dev/null\\n' | docker build -q -t konta-apps/wordpress:broken - >/dev/null");
    await push("konta-apps/wordpress:broken", "konta-apps/wordpress:6.1-r3");
    const failed = await box.poll("the broken push rolled back", async () => (await imageUpdates())?.failed?.[FOLLOWED], 600_000);
    expect(failed).toMatch(/^sha256:/);
    expect(await wordpressImage()).toBe(r3);
    expect(await imageId(FOLLOWED)).toBe(r3);
    expect(await containerId("blog-db-1")).toBe(db);
    expect(await box.poll("the post served", served, 120_000)).toBe(true);
  }, 1_200_000);

  test("an image that fails its healthcheck: rolled back, the site serves the post, the commit is not retried", async () => {
    // Apache serves its default site instead of WordPress: /wp-login.php answers 404 (built above)
    const bad = repo.write(example({ env: { WORDPRESS_IMAGE: "konta-apps/wordpress:broken" }, wordpressEnv: BERLIN })).commit("a broken WordPress image");
    await box.poll("the broken commit failed", async () => (await status()).failed?.sha === bad || undefined, 600_000);
    const s = await status();
    expect(s.live?.sha).toBe(shas.follow);
    expect(await runs("blog-wordpress-1", "konta-apps/wordpress:6.1-r3")).toBe(true);
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

  test("the 512 MB server: no process was OOM-killed through all of the above", () => {
    expect(box.oomKills()).toBe(0);
  });

  test("disaster recovery: a new server, install.sh, the same repository and the last dump serve the same post", async () => {
    // what the operator kept: the last dump and the passwords (the repository is on the Git server)
    const dump = await lastDump();
    const keptDump = join(tmp, "kept.sql.gz");
    sh("docker", ["cp", `${box.name}:${dump}`, keptDump]);
    const kept = await box.sh("cat /etc/konta/env/blog.env");
    await box.sh("systemctl stop konta.timer");
    box.remove();
    const fresh = await startBox("kt-wp-box-2", tmp, SERVER);
    try {
      sh("docker", ["cp", keptDump, `${fresh.name}:/root/blog.sql.gz`]);
      const started = Date.now();
      await installKonta(fresh, { repo: REPO, token: TOKEN, project: "blog", secrets: kept });
      // the branch as it should be (the broken image reverted): the old server's rollback hold was its own
      const head = repo.write(example({ wordpressEnv: BERLIN })).commit("revert the broken image");
      await fresh.poll(`live release ${head.slice(0, 12)}`, async () => (JSON.parse(await fresh.sh("konta status --json")) as Status).live?.sha === head || undefined, 600_000);
      await fresh.sh(`gunzip -c /root/blog.sql.gz | docker exec -i blog-db-1 sh -c 'mariadb -uroot -p"$(cat /run/secrets/db_root_password)"'`);
      const page = await fresh.poll("the post served", () => servedBy(fresh, PORT, postId), 120_000);
      expect(page).toBe(true);
      console.log(`disaster recovery: install.sh to the post served in ${((Date.now() - started) / 1000).toFixed(1)} s (images already on the server)`);
    } finally {
      if (!process.env.KONTA_KEEP_BOX) fresh.remove();
    }
  }, 900_000);
});
