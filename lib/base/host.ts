// Facts about the host user and process Konta runs as, read so that a manual run and a systemd run agree.
import { userInfo } from "node:os";

/** localhost, 127.0.0.0/8 or [::1]: where plain HTTP does not cross a network (as Docker assumes for registries). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The home directory from the password database. $HOME is not used: systemd units, cron and
 * `sudo` set it differently, and Konta must read the same Docker config and expand `~` the same
 * way whoever started it.
 */
export function userHome(): string {
  try {
    return userInfo().homedir || "/root";
  } catch {
    return "/root";
  }
}

/**
 * This process's peak resident memory so far (the kernel's ru_maxrss, as `time -v` reports it), in
 * bytes: recorded with every run, so that the memory a server gives Konta can be read from its own
 * history, not only from a bench.
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
