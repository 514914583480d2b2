// Crash points for the fault tests: with KONTA_FAILPOINT=<name>, the process kills itself with
// SIGKILL when it reaches that point, so a test can prove that a crash there loses nothing.
// Without the variable this is one string comparison.

export type Failpoint = "fetch" | "unpack" | "checkout" | "after-pull" | "mid-recreate" | "before-switch" | "state-write" | "history-append";

/** `halfway` does part of the work first: what a crash in the middle of it leaves behind. */
export function failpoint(name: Failpoint, halfway?: () => void): void {
  if (process.env.KONTA_FAILPOINT !== name) return;
  halfway?.();
  process.kill(process.pid, "SIGKILL");
}
