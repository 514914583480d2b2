// Crash points for the fault tests: with KONTA_FAILPOINT=<name>, the process kills itself with
// SIGKILL when it reaches that point, so a test can prove that a crash there loses nothing.
// Without the variable this is one string comparison.

export type Failpoint = "fetch" | "unpack" | "checkout" | "after-pull" | RecreateStep | "before-switch" | "state-write" | "history-append";

/** Each step of a recreate, of both orders (lib/targets/engine/apply.ts). */
export const RECREATE_STEPS = ["created", "started", "old-disconnected", "old-removed", "old-stopped", "old-renamed", "renamed", "done"] as const;
export type RecreateStep = `recreate:${(typeof RECREATE_STEPS)[number]}`;

/** `halfway` does part of the work first: what a crash in the middle of it leaves behind. */
export function failpoint(name: Failpoint, halfway?: () => void): void {
  if (process.env.KONTA_FAILPOINT !== name) return;
  halfway?.();
  process.kill(process.pid, "SIGKILL");
}
