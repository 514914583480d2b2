// Preloaded by bun test (bunfig.toml): every temp dir of this test process — made by a test with
// mkdtemp(tmpdir()) or by a konta binary it runs — lands in one folder, removed when the process
// exits, so a forgotten or crashed clean-up leaves nothing behind in /tmp.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "konta-tests-"));
process.env.TMPDIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
