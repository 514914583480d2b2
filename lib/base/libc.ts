// The two C library calls Node's fs has no equivalent for: flock(2) for the run lock and
// posix_fadvise(2) to drop a freshly written binary from the page cache. Loaded once, on first use.
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, fsyncSync, openSync } from "node:fs";

const SYMBOLS = {
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let libc: Libc | undefined;

function load(): Libc {
  for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
    try {
      return dlopen(name, SYMBOLS).symbols;
    } catch {
      // try the next libc name
    }
  }
  throw new Error("cannot load the C library (flock, posix_fadvise)");
}

/** flock(2); 0 on success. */
export function flock(fd: number, op: number): number {
  libc ??= load();
  return libc.flock(fd, op) as number;
}

const POSIX_FADV_DONTNEED = 4;

/**
 * Drop a file's cached pages that no process maps (written back first: dirty pages cannot be
 * dropped). For a binary just written: the kernel caches a written (or sequentially read) file in
 * large blocks and maps a whole cached block around each page a run touches, so every run of a
 * freshly installed Konta counted ~5 MB more of machine code in its RSS (`konta version` 36 MB
 * instead of 31) until a reboot or memory pressure evicted the blocks. Read back by runs, it is
 * cached in small blocks. The same pages are in memory either way: this changes what a run's RSS
 * (`konta status`, the bench) counts, so a fresh install and a rebooted server report alike.
 * Best effort: false when the file or libc cannot be reached.
 */
export function dropFromPageCache(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    fsyncSync(fd);
    libc ??= load();
    return libc.posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) === 0;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
