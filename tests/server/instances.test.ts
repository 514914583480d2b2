// Issue "Several repositories on one server", on a server in a box under systemd: a server set up
// with the single-instance layout gets a second instance from another repository (over SSH, a
// deploy key) with `konta install --instance`; each runs from its own timer and never touches the
// other's apps. Then staging and production of one repository, promoted by a merge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { kontaBinary } from "../support/konta.ts";
import { TestRepo } from "../support/repo.ts";
import { Box, SRC } from "./box.ts";

const TOKEN = "instances-token-8c2f4a";
let box: Box;
let tmp: string;
let infra: TestRepo;
let client: TestRepo;

interface Overview {
  name: string;
  live?: string;
  failed?: { sha: string };
  projects: string[];
}

const all = async () => JSON.parse(await box.sh("konta status --all --json")) as Overview[];
const of = async (name: string) => (await all()).find((i) => i.name === name);
const liveAt = (name: string, sha: string, timeoutMs = 90_000) =>
  box.poll(`${name} live at ${sha.slice(0, 12)}`, async () => ((await of(name))?.live === sha ? true : undefined), timeoutMs);
const running = async (container: string) => (await box.exec(`docker inspect -f '{{.State.Running}} {{.Id}}' ${container}`)).out.trim();
const sleeper = (v: string, extra = "") => `services:\n  app:\n    image: konta-test/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    environment: { V: "${v}" }\n    labels: { konta.managed: "true" }\n${extra}`;

beforeAll(async () => {
  kontaBinary();
  tmp = mkdtempSync("/var/tmp/konta-instances-");
  infra = new TestRepo(join(tmp, "git"), "infra");
  client = new TestRepo(join(tmp, "git"), "client");
  box = await Box.start({ name: "kt-instances-box", mounts: { [join(tmp, "git")]: "/srv/git" } });
  await box.sh(`GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh && systemctl start ssh`);
}, 600_000);

afterAll(() => {
  if (process.env.KONTA_KEEP_BOX) return console.log(`kept the box: docker exec -it ${box?.name} bash`);
  box?.remove();
  infra?.dispose();
  client?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("several repositories on one server", () => {
  let v1 = "";
  let configBefore = "";

  test("a single-instance server (install.sh, konta.timer) gets a second instance over SSH; the first keeps working without an edit", async () => {
    v1 = infra.write({ "apps/web/docker-compose.yml": sleeper("1", '    ports: ["127.0.0.1:18080:8080"]\n') }).commit("infra v1");
    await box.sh(
      `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo http://127.0.0.1:8418/infra.git --interval 10 >/dev/null`,
      { input: `${TOKEN}\n` },
    );
    await liveAt("default", v1);
    configBefore = await box.sh("sha256sum /etc/konta/config.yaml");

    const c1 = client.write({ "apps/shop/docker-compose.yml": sleeper("1"), "apps/blog/docker-compose.yml": sleeper("1") }).commit("client v1");
    const installed = await box.sh("konta install --instance client --repo root@127.0.0.1:/srv/git/client.git --interval 10");
    expect(installed).toContain("/etc/konta/instances/client.yaml");
    expect(installed).toContain("enabled and started konta@client.timer");
    // the Git host accepts the new deploy key (restricted to Git, as hosts do)
    const pub = (await box.sh("cat /etc/konta/instances/client.deploy_key.pub")).trim();
    await box.sh("mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys", { input: `restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${pub}\n` });
    await liveAt("client", c1);
    expect(await box.sh("systemctl is-active konta@client.timer konta.timer")).toBe("active\nactive\n");
    expect(await box.sh("systemctl show -p ExecStart --value konta@client.service")).toContain("sync --instance client");
    expect((await running("shop-app-1")).startsWith("true")).toBe(true);

    // the first instance: untouched config, still deployed by its own timer
    expect(await box.sh("sha256sum /etc/konta/config.yaml")).toBe(configBefore);
    const v2 = infra.write({ "apps/web/docker-compose.yml": sleeper("2", '    ports: ["127.0.0.1:18080:8080"]\n') }).commit("infra v2");
    await liveAt("default", v2);
    v1 = v2;
    const overview = await all();
    expect(overview.map((i) => [i.name, i.projects])).toEqual([
      ["default", ["web"]],
      ["client", ["blog", "shop"]],
    ]);
  }, 300_000);

  test("a push to one deploys only that one; a broken commit in one rolls back only that one; removing an app in one never touches the other", async () => {
    const web = await running("web-app-1");
    const c2 = client.write({ "apps/shop/docker-compose.yml": sleeper("2") }).commit("client v2");
    await liveAt("client", c2);
    expect(await running("web-app-1")).toBe(web);

    const broken = client.write({ "apps/shop/docker-compose.yml": sleeper("3", '    healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 1 }\n') }).commit("client: broken");
    await box.poll("the broken commit recorded as failed", async () => ((await of("client"))?.failed?.sha === broken ? true : undefined), 120_000);
    expect((await of("client"))?.live).toBe(c2);
    expect((await running("shop-app-1")).startsWith("true")).toBe(true);
    expect(await box.sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' shop-app-1")).toContain("V=2");
    expect(await running("web-app-1")).toBe(web);
    expect((await of("default"))?.failed).toBeUndefined();
    expect(await box.sh("journalctl -u konta@client.service --no-pager -o cat")).toContain("rolled back");
    expect(await box.sh("journalctl -u konta.service --no-pager -o cat")).not.toContain("client");

    // removing blog leaves shop (the same instance) and web (the other) as they were: the same containers
    const shop = await running("shop-app-1");
    expect(shop).toMatch(/^true [0-9a-f]{64}$/);
    const c4 = client.write({ "apps/shop/docker-compose.yml": sleeper("2"), "apps/blog/docker-compose.yml": null }).commit("client: blog removed");
    await liveAt("client", c4);
    expect((await box.exec("docker inspect blog-app-1")).code).not.toBe(0);
    expect(await running("web-app-1")).toBe(web);
    expect(await running("shop-app-1")).toBe(shop);
  }, 300_000);

  test("the other instance's project, container name or host port: refused, naming both; the first keeps running", async () => {
    const web = await running("web-app-1");
    const grab = client.write({ "apps/web/docker-compose.yml": sleeper("x"), "apps/side/docker-compose.yml": sleeper("x", '    ports: ["18080:8080"]\n') }).commit("client: takes web");
    await box.poll("the conflicting commit refused", async () => ((await of("client"))?.failed?.sha === grab ? true : undefined), 90_000);
    const journal = await box.sh("journalctl -u konta@client.service --no-pager -o cat");
    expect(journal).toContain('apps/web/docker-compose.yml: project "web" is deployed by instance "default" (/etc/konta/config.yaml); instance "client" (/etc/konta/instances/client.yaml) cannot take it');
    expect(journal).toContain("apps/side/docker-compose.yml: app: host port 18080/tcp is held by web/app of instance \"default\"");
    expect(await box.sh("systemctl show -p ExecMainStatus --value konta@client.service")).toBe("2\n");
    expect(await running("web-app-1")).toBe(web);
    expect((await box.exec("docker inspect side-app-1")).code).not.toBe(0);
    // the client's repository goes back to what it had
    client.write({ "apps/web/docker-compose.yml": null, "apps/side/docker-compose.yml": null }).commit("client: back");
  }, 300_000);

  test("staging and production from one repository's branches, promoted by a merge", async () => {
    // a release only holds repository.path: a release number goes into both environments' files on
    // the staging branch, and reaches production when staging is merged into main
    const app = (v: string, port: number) => `services:\n  web:\n    image: konta-test/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    environment: { RELEASE: "${v}" }\n    ports: ["127.0.0.1:${port}:8080"]\n    labels: { konta.managed: "true" }\n`;
    // apps/shop-<env> so that neither takes the other's project name
    const releaseOf = (v: string) => ({ "envs/prod/apps/shop-prod/docker-compose.yml": app(v, 18281), "envs/staging/apps/shop-staging/docker-compose.yml": app(v, 18282) });
    const shop = new TestRepo(join(tmp, "git"), "shop");
    try {
      const m1 = shop.write(releaseOf("1")).commit("shop 1");
      shop.git("checkout", "-q", "-b", "staging");
      shop.git("push", "-q", shop.bare, "HEAD:refs/heads/staging");
      for (const [name, branch] of [["prod", "main"], ["staging", "staging"]]) {
        await box.sh(`konta install --instance ${name} --repo http://127.0.0.1:8418/shop.git --branch ${branch} --path envs/${name} --interval 10 >/dev/null`, { input: `${TOKEN}\n` });
      }
      await liveAt("prod", m1);
      await liveAt("staging", m1);
      const release = async (c: string) => (await box.sh(`docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' ${c}`)).split("\n").find((l) => l.startsWith("RELEASE="));
      expect(await release("shop-prod-web-1")).toBe("RELEASE=1");

      // tried on staging first
      shop.write(releaseOf("2"));
      shop.git("add", "-A");
      shop.git("commit", "-q", "-m", "shop 2");
      shop.git("push", "-q", shop.bare, "HEAD:refs/heads/staging");
      const s2 = shop.head();
      await liveAt("staging", s2);
      expect(await release("shop-staging-web-1")).toBe("RELEASE=2");
      expect(await release("shop-prod-web-1")).toBe("RELEASE=1");
      expect((await of("prod"))?.live).toBe(m1);

      // promoted: main fast-forwards to what staging ran
      shop.git("checkout", "-q", "main");
      shop.git("merge", "-q", "--ff-only", "staging");
      shop.git("push", "-q", shop.bare, "HEAD:refs/heads/main");
      await liveAt("prod", s2);
      expect(await release("shop-prod-web-1")).toBe("RELEASE=2");
      expect(await box.sh("konta history --instance prod --json")).toContain(s2);
    } finally {
      shop.dispose();
    }
  }, 300_000);

  test("uninstalling one instance leaves the others running", async () => {
    const web = await running("web-app-1");
    const out = await box.sh("konta uninstall --instance client --purge");
    expect(out).toContain("left the other instances running: default, prod, staging");
    expect((await box.exec("systemctl is-enabled konta@client.timer")).out.trim()).not.toBe("enabled");
    expect(await box.sh("systemctl is-active konta.timer konta@prod.timer konta@staging.timer")).toBe("active\nactive\nactive\n");
    expect((await box.exec("test -e /etc/konta/instances/client.yaml || test -e /var/lib/konta/client")).code).not.toBe(0);
    expect((await all()).map((i) => i.name)).toEqual(["default", "prod", "staging"]);
    // the units of the remaining named instances stay
    expect((await box.exec("test -e /etc/systemd/system/konta@.service")).code).toBe(0);
    const v3 = infra.write({ "apps/web/docker-compose.yml": sleeper("3", '    ports: ["127.0.0.1:18080:8080"]\n') }).commit("infra v3");
    await liveAt("default", v3);
    expect(await running("web-app-1")).not.toBe(web);
    // what the client deployed is left as it is (uninstall never removes containers)
    expect((await running("shop-app-1")).startsWith("true")).toBe(true);
  }, 300_000);
});
