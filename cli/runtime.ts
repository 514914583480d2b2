// Imported before anything else. A run of Konta lasts a second or two: JavaScriptCore's JIT tiers
// compile code that runs a few times, and the compilers' own machine code and output are most of
// what a run's memory grows by (bench/RESULTS.md, "JIT on": ~12 MB of a deploy at 50 apps, ~4 MB
// of an idle tick, no faster). JSC reads its options only from the environment it starts with, so
// the compiled binary starts itself once more with them set: the same process (execve keeps the
// PID, the lock and systemd's view), whoever started it, timer or shell. Not for `rollback`, where
// the ~40 ms of a second start count (bench/RESULTS.md §4c) and memory does not.
import { adoptStartedAt, startedAtEnv } from "../lib/base/steps.ts";

const INTERPRETER_ONLY = { BUN_JSC_useBaselineJIT: "0", BUN_JSC_useDFGJIT: "0" } as const;

const command = process.argv.slice(2).find((a) => !a.startsWith("-"));
if (Bun.isStandaloneExecutable && process.execve && process.env.BUN_JSC_useBaselineJIT === undefined && command !== "rollback") {
  try {
    process.execve(process.execPath, [process.execPath, ...process.argv.slice(2)], { ...process.env, ...INTERPRETER_ONLY, ...startedAtEnv() });
  } catch {
    // cannot start itself again (no /proc, a sandbox without execve): run with the JIT on
  }
}
// not passed on to hooks and tools Konta starts (another konta sets them for itself)
for (const name of Object.keys(INTERPRETER_ONLY)) delete process.env[name];
adoptStartedAt();
