// Facts about the host user Konta runs as, read so that a manual run and a systemd run agree.
import { userInfo } from "node:os";

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
