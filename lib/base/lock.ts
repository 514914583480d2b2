// One run at a time, with flock(2) on <state>/konta.lock. The kernel drops the lock when the
// holder dies, even by SIGKILL, so a stale lock cannot exist: the next run simply takes it.
// The file also holds the holder's pid, for the message a second run prints.
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { LockedError } from "./errors.ts";
import { flock } from "./libc.ts";
import { log } from "./log.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

export interface Lock {
  release(): void;
}

function holderPid(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n")[0]?.trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Take the lock, or throw LockedError naming the holder. With `waitSeconds`, poll until it is free
 * or the time is up.
 */
export async function acquireLock(path: string, what: string, waitSeconds = 0): Promise<Lock> {
  const fd = openSync(path, "a+", 0o600);
  const deadline = Date.now() + waitSeconds * 1000;
  while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    if (Date.now() >= deadline) {
      closeSync(fd);
      const pid = holderPid(path);
      throw new LockedError(`another Konta run holds ${path} (pid ${pid})`, {
        hint: waitSeconds
          ? `it did not finish within ${waitSeconds}s; check it with: ps -p ${pid} -o pid,etime,args`
          : "it finishes on its own; pass --wait <seconds> to wait for it",
      });
    }
    await Bun.sleep(100);
  }
  ftruncateSync(fd, 0);
  const taken = new Date().toISOString();
  writeSync(fd, `${process.pid}\n${what}\n${taken}\n`, 0);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      ftruncateSync(fd, 0);
      closeSync(fd); // closing the last descriptor drops the flock
      log.debug(`lock: ${what} (pid ${process.pid}) held ${path} from ${taken} to ${new Date().toISOString()}`);
    },
  };
}
