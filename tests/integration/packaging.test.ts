// Issue "Packaging": the release artefacts, install.sh in a throwaway root, and the systemd units
// the binary prints against their source in packaging/systemd/.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { residentFraction } from "../support/files.ts";
import { kontaBinary, ROOT, runKonta } from "../support/konta.ts";

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

function installSh(args: string[], env: Record<string, string>) {
  const r = spawnSync("bash", [join(ROOT, "packaging/install.sh"), ...args], { encoding: "utf8", env: { ...process.env, ...env }, input: "" });
  return { code: r.status, all: r.stdout + r.stderr };
}

describe("install.sh", () => {
  test("installs with a verified checksum, is idempotent, upgrades, and refuses a bad checksum keeping the old binary", () => {
    const root = mkdtempSync(join(tmpdir(), "konta-destdir-"));
    const work = mkdtempSync(join(tmpdir(), "konta-pkg-"));
    const v1 = join(work, "konta-v1");
    copyFileSync(kontaBinary(), v1);
    const sumFile = join(work, "konta-v1.sha256");
    writeFileSync(sumFile, `${sha(v1)}  konta\n`);
    const env = { DESTDIR: root };
    const args = ["--binary", v1, "--checksum-file", sumFile, "--", "--repo", "https://git.example.com/acme/infra.git"];

    expect(residentFraction(v1)).toBeGreaterThan(0.9);
    const first = installSh(args, env);
    expect(first.code).toBe(0);
    const target = join(root, "usr/local/bin/konta");
    // writing cached every page; what stays is what the running `konta install` maps (read first: sha() reads it all)
    expect(residentFraction(target)).toBeLessThan(0.6);
    expect(sha(target)).toBe(sha(v1));
    expect(statSync(target).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, "etc/konta/config.yaml"), "utf8")).toContain("https://git.example.com/acme/infra.git");
    expect(readFileSync(join(root, "etc/systemd/system/konta.service"), "utf8")).toContain(`ExecStart=/usr/local/bin/konta sync --config ${root}/etc/konta/config.yaml`);

    const again = installSh(args, env);
    expect(again.code).toBe(0);
    expect(again.all).toContain("kept");

    const v2 = join(work, "konta-v2");
    writeFileSync(v2, Buffer.concat([readFileSync(v1), Buffer.from("\n")]));
    const upgrade = installSh(["--binary", v2, "--sha256", sha(v2)], env);
    expect(upgrade.code).toBe(0);
    expect(upgrade.all).toContain("upgrading");
    expect(sha(target)).toBe(sha(v2));
    expect(sha(`${target}.old`)).toBe(sha(v1));

    const bad = installSh(["--binary", v1, "--sha256", "0".repeat(64)], env);
    expect(bad.code).toBe(1);
    expect(bad.all).toContain("checksum mismatch");
    expect(bad.all).toContain("nothing was installed");
    expect(sha(target)).toBe(sha(v2));
    expect(existsSync(join(root, "usr/local/bin/.konta.new"))).toBe(false);
  });
});

describe("artefacts", () => {
  test("the units the binary writes are packaging/systemd/ with the values filled in", async () => {
    const r = await runKonta(["install", "--print", "--config", "/etc/konta/config.yaml", "--state-dir", "/var/lib/konta", "--interval", "120", "--binary", "/usr/local/bin/konta"]);
    const fill = (name: string) =>
      readFileSync(join(ROOT, "packaging/systemd", name), "utf8")
        .replaceAll("@WRITABLE@", "/var/lib/konta -/var/backups")
        .replaceAll("@DOCKER_CONFIG_DIR@", "/root/.docker")
        .replaceAll("@BIN@", "/usr/local/bin/konta")
        .replaceAll("@CONFIG@", "/etc/konta/config.yaml")
        .replaceAll("@STATE_DIR@", "/var/lib/konta")
        .replaceAll("@INTERVAL@", "120")
        .replaceAll("@JITTER@", "30");
    expect(r.stdout).toBe(`# konta.service\n${fill("konta.service")}\n# konta.timer\n${fill("konta.timer")}\n`);
  });

  // the full build (arm64, konta.js) is what tests/run.sh makes before the tests; a bare `bun test` builds only dist/konta
  test.skipIf(!process.env.KONTA_BIN)("dist/ has both binaries and the bundled JS, each with a matching .sha256", () => {
    for (const [file, sums] of [["konta", "konta-linux-x64.sha256"], ["konta-linux-arm64", "konta-linux-arm64.sha256"], ["konta.js", "konta.js.sha256"]] as const) {
      const recorded = readFileSync(join(ROOT, "dist", sums), "utf8").split(/\s+/)[0];
      expect(recorded).toBe(sha(join(ROOT, "dist", file)));
    }
    const js = spawnSync(join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "dist/konta.js"), "version"], { encoding: "utf8" });
    expect(js.stdout).toMatch(/^konta \d+\.\d+\.\d+ /);
    expect(spawnSync("file", [join(ROOT, "dist/konta-linux-arm64")], { encoding: "utf8" }).stdout).toContain("ARM aarch64");
  });
});

describe("the .deb (packaging/deb/build.sh, run by tests/run.sh)", () => {
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
  const debs = ["amd64", "arm64"].map((arch) => ({ arch, file: join(ROOT, "dist", `konta_${version}_${arch}.deb`) }));
  const dpkgDeb = (...args: string[]) => spawnSync("dpkg-deb", args, { encoding: "utf8" }).stdout;

  test.each(debs)("$arch: the binary, the units (not enabled), man pages, completions, copyright and changelog, owned by root", ({ arch, file }) => {
    if (!existsSync(file)) spawnSync("bash", [join(ROOT, "packaging/deb/build.sh"), arch], { encoding: "utf8" });
    const control = dpkgDeb("--field", file);
    expect(control).toContain(`Architecture: ${arch}`);
    expect(control).toContain(`Version: ${version}`);
    expect(control).toMatch(/Depends: libc6 \(>= 2\.17\), docker\.io \| docker-ce, openssh-client/);
    const contents = dpkgDeb("--contents", file);
    for (const path of [
      "./usr/bin/konta",
      "./usr/lib/systemd/system/konta.service",
      "./usr/lib/systemd/system/konta.timer",
      "./usr/share/man/man1/konta.1.gz",
      "./usr/share/man/man5/konta.yaml.5.gz",
      "./usr/share/bash-completion/completions/konta",
      "./usr/share/zsh/vendor-completions/_konta",
      "./usr/share/fish/vendor_completions.d/konta.fish",
      "./usr/share/doc/konta/copyright",
      "./usr/share/doc/konta/changelog.gz",
    ]) {
      expect(contents).toContain(path);
    }
    for (const line of contents.trim().split("\n")) expect(line).toContain(" root/root ");
    // nothing enabled by the package: no symlink in a .wants folder, no enable in a maintainer script
    expect(contents).not.toContain(".wants/");
    const postinst = spawnSync("bash", ["-c", `dpkg-deb --ctrl-tarfile ${file} | tar -xO ./postinst`], { encoding: "utf8" }).stdout;
    expect(postinst).toContain("daemon-reload");
    expect(postinst).toContain("dd if=/usr/bin/konta iflag=nocache count=0");
    expect(postinst).not.toMatch(/systemctl[^\n]* enable/);
    const unit = spawnSync("bash", ["-c", `dpkg-deb --fsys-tarfile ${file} | tar -xO ./usr/lib/systemd/system/konta.service`], { encoding: "utf8" }).stdout;
    expect(unit).toContain("ExecStart=/usr/bin/konta sync --config /etc/konta/config.yaml --state-dir /var/lib/konta");
  });

  test("lintian finds no error in the amd64 package", () => {
    const r = spawnSync("lintian", ["--fail-on", "error", debs[0]?.file as string], { encoding: "utf8" });
    expect(r.stdout.split("\n").filter((l) => l.startsWith("E:"))).toEqual([]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});
