// A release looks the same whoever checked it out: the unit's UMask=0077 must not make its files
// 0600 (a container user other than root could not read a relative bind, and digests include modes).
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { statePaths } from "../../lib/base/paths.ts";
import { ReleaseStore } from "../../lib/releases/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("release files get git's modes (0644, 0755 for executables, dirs 0755) under umask 0077", async () => {
  const root = mkdtempSync(join(tmpdir(), "konta-releases-"));
  dirs.push(root);
  const store = new ReleaseStore(statePaths(root));
  const sha = "a".repeat(40);
  const old = process.umask(0o077);
  let dir: string;
  try {
    dir = await store.create(sha, async (tmp) => {
      mkdirSync(join(tmp, "apps/web/html"), { recursive: true, mode: 0o755 });
      mkdirSync(join(tmp, "hooks"), { mode: 0o755 });
      writeFileSync(join(tmp, "apps/web/html/index.html"), "hi\n", { mode: 0o644 });
      writeFileSync(join(tmp, "hooks/pre.sh"), "#!/bin/bash\n", { mode: 0o755 });
      writeFileSync(Buffer.from(`${tmp}/apps/web/caf\xe9.txt`, "latin1"), "not UTF-8 name\n", { mode: 0o644 });
      symlinkSync("index.html", join(tmp, "apps/web/html/link.html"));
    });
  } finally {
    process.umask(old);
  }
  const mode = (p: string | Buffer) => (statSync(p).mode & 0o777).toString(8);
  // what the umask did before normalising: the test is only meaningful if it stripped bits
  expect(mode(join(dir, "apps/web/html/index.html"))).toBe("644");
  expect(mode(join(dir, "hooks/pre.sh"))).toBe("755");
  expect(mode(join(dir, "apps/web/html"))).toBe("755");
  expect(mode(dir)).toBe("755");
  expect(mode(Buffer.from(`${dir}/apps/web/caf\xe9.txt`, "latin1"))).toBe("644");
  // and a file made under that umask really was 0600 before
  const probe = join(root, "probe");
  const o = process.umask(0o077);
  writeFileSync(probe, "x", { mode: 0o644 });
  process.umask(o);
  expect(mode(probe)).toBe("600");
});
