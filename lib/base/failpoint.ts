// Crash points for the fault tests: with KONTA_FAILPOINT=<name>, the process kills itself with
// SIGKILL when it reaches that point, so a test can prove that a crash there loses nothing.
// Without the variable this is one string comparison.

export type Failpoint = "fetch" | "unpack" | "checkout" | "after-pull" | "mid-recreate" | "before-switch" | "state-write";

export function failpoint(name: Failpoint): void {
  if (process.env.KONTA_FAILPOINT === name) process.kill(process.pid, "SIGKILL");
}
