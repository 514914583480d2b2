// Command names of the original Konta (Go), so scripts written for it keep working. Most map onto
// a command of today's; the daemon's own commands map onto the systemd units that replace it.
import { spawnSync } from "node:child_process";
import { ExitCode } from "../lib/base/errors.ts";

const RENAMED: Record<string, string[]> = {
  run: ["sync", "--now"],
  bootstrap: ["install"],
  update: ["self-update"],
};

const SYSTEMD: Record<string, string[]> = {
  start: ["systemctl", "enable", "--now", "konta.timer"],
  stop: ["systemctl", "disable", "--now", "konta.timer"],
  journal: ["journalctl", "-u", "konta.service", "-f"],
};

/** argv for today's command line, or an exit code when the original's command was handled here. */
export function translateOriginal(argv: string[]): string[] | number {
  const [word, ...rest] = argv;
  if (word === undefined) return argv;
  if (word === "help") return [...rest, "--help"];
  const renamed = RENAMED[word];
  if (renamed) return [...renamed, ...rest];
  const systemd = SYSTEMD[word];
  if (systemd) {
    console.error(`konta ${word}: running ${systemd.join(" ")}`);
    const r = spawnSync(systemd[0] as string, [...systemd.slice(1), ...rest], { stdio: "inherit" });
    return r.status ?? ExitCode.badInput;
  }
  if (word === "daemon") {
    console.error("Konta has no daemon: konta.timer runs `konta sync` every repository.interval seconds.\nSet it up with `konta install`; see it with `systemctl status konta.timer`.");
    return ExitCode.badInput;
  }
  return argv;
}
