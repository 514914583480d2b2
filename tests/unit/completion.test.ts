// `konta completion`: scripts generated from the CLI's own command definitions. Bash is driven as
// it drives completion (COMP_WORDS, COMP_CWORD, the function that `complete -p` names).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CLI = resolve(import.meta.dir, "../../cli/index.ts");
const dir = mkdtempSync(join(tmpdir(), "konta-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = (shell: string) => {
  const r = Bun.spawnSync([process.execPath, CLI, "completion", shell], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  return r.stdout.toString();
};

const bash = script("bash");
writeFileSync(join(dir, "konta.bash"), bash);
// a `konta` on PATH that knows two releases, as `konta releases --json` prints them
writeFileSync(join(dir, "konta"), `#!/bin/sh\n[ "$1" = releases ] && printf '[\\n  {\\n    "sha": "0123456789abcdef0123456789abcdef01234567",\\n    "live": true\\n  },\\n  {\\n    "sha": "89abcdef0123456789abcdef0123456789abcdef"\\n  }\\n]\\n'\n`);
chmodSync(join(dir, "konta"), 0o755);

/** What bash offers after the words typed so far (the last one being completed). */
function complete(...words: string[]): string[] {
  const line = ["konta", ...words];
  const r = Bun.spawnSync(
    ["bash", "-c", `source ${join(dir, "konta.bash")}; cd ${dir}; COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${line.length - 1}; _konta; printf '%s\\n' "\${COMPREPLY[@]}"`],
    { stdout: "pipe", stderr: "pipe", env: { PATH: `${dir}:${process.env.PATH}` } },
  );
  expect(r.stderr.toString()).toBe("");
  return r.stdout.toString().split("\n").filter(Boolean).sort();
}

test("bash: sourcing it registers _konta for konta", () => {
  const r = Bun.spawnSync(["bash", "-c", `source ${join(dir, "konta.bash")}; complete -p konta`], { stdout: "pipe" });
  expect(r.stdout.toString().trim()).toBe("complete -F _konta konta");
});

test("bash: subcommands, their flags, nested subcommands and flag values", () => {
  expect(complete("ro")).toEqual(["rollback"]);
  expect(complete("re")).toEqual(["releases", "resume"]);
  expect(complete("sync", "--d")).toEqual(["--dry-run"]);
  expect(complete("sync", "--now", "--j")).toEqual(["--json"]);
  expect(complete("token", "")).toEqual(["set"]);
  expect(complete("webhook", "secret", "")).toEqual(["set"]);
  expect(complete("install", "--no-e")).toEqual(["--no-enable"]);
  expect(complete("install", "--s")).toEqual(["--ssh", "--state-dir"]);
  expect(complete("completion", "")).toEqual(["bash", "fish", "zsh"]);
  // a flag's value is a file, and does not count as a command word
  writeFileSync(join(dir, "cfg.yaml"), "");
  expect(complete("status", "--config", "cfg")).toEqual(["cfg.yaml"]);
  expect(complete("status", "--config", "cfg.yaml", "--j")).toEqual(["--json"]);
});

test("bash: rollback completes the kept releases' SHAs", () => {
  expect(complete("rollback", "")).toContain("0123456789ab");
  expect(complete("rollback", "89")).toEqual(["89abcdef0123"]);
});

test("zsh and fish scripts come from the same definitions", () => {
  const zsh = script("zsh");
  expect(zsh.startsWith("#compdef konta\n")).toBe(true);
  expect(zsh).toContain("bashcompinit");
  expect(zsh).toContain("complete -F _konta konta");
  const fish = script("fish");
  expect(fish).toContain("complete -c konta -n '__fish_use_subcommand' -a 'rollback'");
  expect(fish).toContain("complete -c konta -n '__fish_seen_subcommand_from sync' -l dry-run");
  expect(fish).toContain("complete -c konta -n '__fish_seen_subcommand_from token' -a 'set'");
  for (const [shell, text] of [["zsh", zsh], ["fish", fish]] as const) {
    if (!Bun.which(shell)) continue;
    writeFileSync(join(dir, `konta.${shell}`), text);
    const r = Bun.spawnSync([shell, "-n", join(dir, `konta.${shell}`)], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
  }
});

test("an unknown shell is exit 2", () => {
  const r = Bun.spawnSync([process.execPath, CLI, "completion", "tcsh"], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toContain("choose bash, zsh or fish");
});
