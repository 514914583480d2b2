// Konta installed as a Debian package (issue 33), in a server box (Debian 12, systemd, docker.io):
// `apt install ./konta_*.deb`, `konta install` using the packaged units, the timer deploying; a
// newer package installed while a sync runs (that sync finishes, the next runs the new binary);
// `apt remove` keeping config and state, `apt purge` removing them; containers never touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../support/docker.ts";
import { kontaBinary, ROOT } from "../support/konta.ts";
import { TestRepo } from "../support/repo.ts";
import { Box, SRC } from "./box.ts";

const TOKEN = "deb-token-2b7e151628aed2a6";
let box: Box;
let repo: TestRepo;
let tmp: string;
let deb: string;
let newer: string;

const APP = (v: string) => ({
  "apps/web/docker-compose.yml": `services:\n  web:\n    image: konta-test/busybox:1\n    command: ["sleep", "3600"]\n    environment: { V: "${v}" }\n    labels: { konta.managed: "true" }\n`,
});

const live = async () => (JSON.parse(await box.sh("konta status --json")) as { live?: { sha: string } }).live?.sha;
const liveAt = (sha: string, timeoutMs = 90_000) => box.poll(`live release ${sha.slice(0, 12)}`, async () => ((await live()) === sha ? true : undefined), timeoutMs);

beforeAll(async () => {
  kontaBinary();
  tmp = mkdtempSync("/var/tmp/konta-deb-");
  // the package tests/run.sh built (made here when missing), and a newer version of it
  deb = `dist/konta_${(await Bun.file(join(ROOT, "package.json")).json()).version}_amd64.deb`;
  if (!existsSync(join(ROOT, deb))) sh("bash", [join(ROOT, "packaging/deb/build.sh"), "amd64"]);
  // the newer package holds a binary that says it is 9.9.9, so each run's history entry tells which binary ran it
  const newerBinary = join(tmp, "konta-9.9.9");
  sh(join(ROOT, "node_modules/.bin/bun"), ["build", "--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--define", 'KONTA_VERSION="9.9.9"', "--define", 'KONTA_COMMIT="newer"', join(ROOT, "cli/index.ts"), "--outfile", newerBinary], { cwd: ROOT });
  sh("bash", [join(ROOT, "packaging/deb/build.sh"), "amd64"], { env: { KONTA_DEB_VERSION: "9.9.9", KONTA_DEB_OUT: tmp, KONTA_DEB_BINARY: newerBinary } });
  newer = "/var/tmp/newer/konta_9.9.9_amd64.deb";
  repo = new TestRepo(join(tmp, "git"), "infra");
  box = await Box.start({ name: "kt-deb-box", mounts: { [join(tmp, "git")]: "/srv/git", [tmp]: "/var/tmp/newer" } });
  await box.sh(`GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh`);
}, 600_000);

afterAll(() => {
  box?.remove();
  repo?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the .deb on a Debian 12 server", () => {
  let v1 = "";

  test("apt install: binary, units installed not enabled, man pages, completions; konta install uses the packaged units; the timer deploys", async () => {
    const installed = await box.sh(`apt-get install -y -q ${SRC}/${deb} 2>&1`);
    expect(installed).toContain("Setting up konta");
    expect((await box.sh("command -v konta")).trim()).toBe("/usr/bin/konta");
    expect((await box.exec("systemctl is-enabled konta.timer")).out.trim()).toBe("disabled");
    await box.sh("test -f /usr/share/man/man1/konta.1.gz && test -f /usr/share/man/man5/konta.yaml.5.gz && test -f /usr/share/bash-completion/completions/konta && test -f /usr/share/zsh/vendor-completions/_konta && test -f /usr/share/fish/vendor_completions.d/konta.fish");
    expect(await box.sh("bash -c 'source /usr/share/bash-completion/completions/konta; complete -p konta'")).toContain("_konta");

    v1 = repo.write(APP("1")).commit("v1");
    const done = await box.sh("konta install --repo http://127.0.0.1:8418/infra.git --interval 10", { input: `${TOKEN}\n` });
    expect(done).toContain("using /usr/lib/systemd/system/konta.service as packaged");
    expect(done).toContain("using /usr/lib/systemd/system/konta.timer with /etc/systemd/system/konta.timer.d/konta-install.conf");
    expect(done).toContain("enabled and started konta.timer");
    // no unit of its own hides the packaged one
    expect((await box.exec("test -e /etc/systemd/system/konta.service")).code).not.toBe(0);
    // (/lib is /usr/lib on Debian 12: systemd may name either)
    expect(await box.sh("systemctl show -p FragmentPath konta.service")).toMatch(/^FragmentPath=(\/usr)?\/lib\/systemd\/system\/konta\.service$/m);
    // the drop-in empties the timer's triggers and gives them all again, the first run after boot included
    expect(await box.sh("cat /etc/systemd/system/konta.timer.d/konta-install.conf")).toMatch(/OnUnitInactiveSec=\nOnBootSec=30s\nOnUnitInactiveSec=10s\n/);
    await liveAt(v1);
    expect(await box.sh("journalctl -u konta.service --no-pager -o cat")).toContain(`deployed ${v1.slice(0, 12)}`);
  });

  test("a newer package installed while a sync runs: that sync finishes with the binary it started with, the next runs the new one", async () => {
    // a pre hook that holds the deploy long enough to upgrade under it
    const v2 = repo.write({ ...APP("2"), "hooks/pre.sh": "echo pre-started\nsleep 8\n" }).commit("v2, slow");
    await box.poll("a sync in its pre hook", async () => (await box.sh("journalctl -u konta.service --no-pager -o cat")).includes("pre-started") || undefined, 60_000);
    const pid = (await box.sh("systemctl show -p MainPID --value konta.service")).trim();
    expect(pid).not.toBe("0");
    const inode = (await box.sh("stat -c %i /usr/bin/konta")).trim();
    const upgraded = await box.sh(`apt-get install -y -q ${newer} 2>&1`);
    expect(upgraded).toMatch(/Unpacking konta \(9\.9\.9\) over \(/);
    // a new file at /usr/bin/konta; the running sync still has the old one (dpkg renames, it never writes in place)
    expect((await box.sh("stat -c %i /usr/bin/konta")).trim()).not.toBe(inode);
    expect((await box.sh(`readlink /proc/${pid}/exe`)).trim()).toBe("/usr/bin/konta (deleted)");
    // that very process finishes the deploy, with the binary it started with
    await liveAt(v2);
    expect(await box.sh(`journalctl -u konta.service _PID=${pid} --no-pager -o cat`)).toContain(`deployed ${v2.slice(0, 12)}`);
    expect((await box.sh("dpkg-query -W -f '${Version}' konta")).trim()).toBe("9.9.9");
    // and the timer goes on with the new binary, the only one there is
    const v3 = repo.write({ ...APP("3"), "hooks/pre.sh": null }).commit("v3");
    await liveAt(v3);
    expect((await box.sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' web-web-1")).split("\n")).toContain("V=3");
    const ranBy = (JSON.parse(await box.sh("konta history --json")) as { sha?: string; kind: string; konta?: string }[]).filter((e) => e.kind === "deploy");
    const old = (await box.sh(`${SRC}/dist/konta version`)).split(" ")[1];
    expect(ranBy.find((e) => e.sha === v2)?.konta).toStartWith(`${old} (`);
    expect(ranBy.find((e) => e.sha === v3)?.konta).toBe("9.9.9 (newer)");
  }, 180_000);

  test("apt remove keeps config and state and the containers; apt purge removes config and state, says so, and leaves the containers", async () => {
    await box.sh("apt-get remove -y -q konta 2>&1");
    expect((await box.exec("test -e /usr/bin/konta")).code).not.toBe(0);
    await box.sh("test -f /etc/konta/config.yaml && test -L /var/lib/konta/current");
    expect((await box.exec("systemctl is-active konta.timer")).out.trim()).not.toBe("active");
    expect((await box.sh("docker inspect -f '{{.State.Running}}' web-web-1")).trim()).toBe("true");

    const purged = await box.sh("apt-get purge -y -q konta 2>&1");
    expect(purged).toContain("konta: purged /etc/konta and /var/lib/konta; containers were left as they are");
    expect((await box.exec("test -e /etc/konta || test -e /var/lib/konta || test -e /etc/systemd/system/konta.timer.d/konta-install.conf")).code).not.toBe(0);
    expect((await box.sh("docker inspect -f '{{.State.Running}}' web-web-1")).trim()).toBe("true");
  }, 120_000);
});
