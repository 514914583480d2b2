// Facts about the host user and process Konta runs as, read so that a manual run and a systemd run agree.
import { readFileSync } from "node:fs";
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

/** What this process's resident memory is made of now, in bytes (from /proc/self/smaps). */
export interface MemoryBreakdown {
  /** the runtime's machine code and read-only data: pages of the executable that a run touched */
  runtimeCode: number;
  /** the executable's writable part: Konta's bytecode and source, and the runtime's data (~2 MB by itself) */
  codeAndData: number;
  /** anonymous memory: the JavaScript heap, malloc, JIT output, thread stacks */
  heap: number;
  /** shared libraries and other mapped files */
  libraries: number;
  total: number;
}

export function memoryBreakdown(): MemoryBreakdown | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return undefined;
  }
  const m: MemoryBreakdown = { runtimeCode: 0, codeAndData: 0, heap: 0, libraries: 0, total: 0 };
  let bucket: Exclude<keyof MemoryBreakdown, "total"> = "heap";
  for (const line of text.split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const [, perms = "", path = ""] = mapping;
      bucket = path === process.execPath ? (perms.includes("w") ? "codeAndData" : "runtimeCode") : path.startsWith("/") ? "libraries" : "heap";
    } else if (line.startsWith("Rss:")) {
      const bytes = Number.parseInt(line.slice(4), 10) * 1024;
      m[bucket] += bytes;
      m.total += bytes;
    }
  }
  return m;
}

/** One line for logs and the bench: a breakdown and the peak, in MB. */
export function describeMemory(m: MemoryBreakdown, peakBytes: number): string {
  const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
  return `memory at exit ${mb(m.total)} MB: runtime code ${mb(m.runtimeCode)}, Konta code and data ${mb(m.codeAndData)}, heap ${mb(m.heap)}, libraries ${mb(m.libraries)}; peak ${mb(peakBytes)} MB`;
}
