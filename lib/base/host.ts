// Facts about the host user Konta runs as, read so that a manual run and a systemd run agree.
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
