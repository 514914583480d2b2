// konta(1) and konta.yaml(5), generated from the CLI's command tree and docs/ (packaging/man.ts):
// every command is in the page, and groff renders both without a warning.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { commandSpecs } from "../../cli/completion.ts";
import { main } from "../../cli/main.ts";

const dir = mkdtempSync(join(tmpdir(), "konta-man-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const made = Bun.spawnSync([process.execPath, resolve(import.meta.dir, "../../packaging/man.ts"), dir], { stdout: "pipe", stderr: "pipe" });

test.each(["konta.1", "konta.yaml.5"])("%s renders with groff -ww without a warning, and man -l reads it", (page) => {
  expect(made.exitCode, made.stderr.toString()).toBe(0);
  const groff = Bun.spawnSync(["groff", "-ww", "-man", "-Tutf8", join(dir, page)], { stdout: "pipe", stderr: "pipe" });
  expect(groff.stderr.toString()).toBe("");
  expect(groff.exitCode).toBe(0);
  const man = Bun.spawnSync(["man", "-l", join(dir, page)], { stdout: "pipe", stderr: "pipe", env: { ...process.env, MANPAGER: "cat", MANWIDTH: "100" } });
  expect(man.exitCode, man.stderr.toString()).toBe(0);
  expect(man.stdout.toString()).toContain(page === "konta.1" ? "konta - GitOps for Docker Compose" : "konta.yaml - the configuration of konta");
});

test("konta(1) has every command and flag --help has, the exit codes and the files; konta.yaml(5) every config key of docs/configuration.md", async () => {
  const page = readFileSync(join(dir, "konta.1"), "utf8");
  for (const s of await commandSpecs(main)) {
    if (!s.path.length) continue;
    expect(page).toContain(`\\fBkonta ${s.path.join(" ")}\\fR`);
    for (const f of s.flags) if (!f.name.startsWith("no-") && !["config", "state-dir", "verbose", "quiet"].includes(f.name)) expect(page).toContain(`\\fB\\-\\-${f.name}\\fR`);
  }
  expect(page).toContain("another run holds the lock");
  expect(page).toContain("/var/lib/konta/");
  const config = readFileSync(join(dir, "konta.yaml.5"), "utf8");
  for (const key of ["health_timeout:", "ssh_key_file:", "known_hosts_file:", "age_key_file:", "Deploy keys (SSH)"]) expect(config).toContain(key);
});
