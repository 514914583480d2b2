// cli/runtime.ts through the compiled binary: every command but rollback runs in the same process
// started once more with JavaScriptCore's JIT tiers off (memory, issue 35), whoever starts it.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { kontaBinary } from "../support/konta.ts";

/**
 * `konta webhook` with no config, waiting for its request on stdin: once it has warned about the
 * config, the process that will answer is the one running (cli/runtime.ts ran first). Returns the
 * environment its image started with and, after its stdin ends, its stderr.
 */
async function webhookProcess(env: Record<string, string>): Promise<{ pid: number; environ: string[]; cmdline: string[]; stderr: string }> {
  const proc = Bun.spawn([kontaBinary(), "webhook", "--config", "/nonexistent/config.yaml", "--verbose"], { stdin: "pipe", stdout: "ignore", stderr: "pipe", env: { PATH: process.env.PATH ?? "", ...env } });
  const reader = proc.stderr.getReader();
  let stderr = "";
  while (!stderr.includes("no configuration")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`konta webhook ended early:\n${stderr}`);
    stderr += new TextDecoder().decode(value);
  }
  const environ = readFileSync(`/proc/${proc.pid}/environ`, "latin1").split("\0");
  const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, "latin1").split("\0");
  proc.stdin.end();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += new TextDecoder().decode(value);
  }
  await proc.exited;
  return { pid: proc.pid, environ, cmdline, stderr };
}

describe("the binary's runtime settings", () => {
  test("a command re-executes itself with the JIT tiers off; --verbose says what its memory is", async () => {
    const p = await webhookProcess({});
    expect(p.environ).toContain("BUN_JSC_useBaselineJIT=0");
    expect(p.environ).toContain("BUN_JSC_useDFGJIT=0");
    expect(p.cmdline.slice(1, 4)).toEqual(["webhook", "--config", "/nonexistent/config.yaml"]);
    // the second image counts its steps from the first one's start
    expect(p.environ.some((e) => /^KONTA_STARTED_AT=\d+(\.\d+)?$/.test(e))).toBe(true);
    expect(p.stderr).toMatch(/memory at exit [\d.]+ MB: runtime code [\d.]+, Konta code and data [\d.]+, heap [\d.]+, libraries [\d.]+; peak [\d.]+ MB/);
  });

  test("settings a person gave are kept: no second start", async () => {
    const p = await webhookProcess({ BUN_JSC_useBaselineJIT: "1" });
    expect(p.environ).toContain("BUN_JSC_useBaselineJIT=1");
    expect(p.environ).not.toContain("BUN_JSC_useDFGJIT=0");
  });
});
