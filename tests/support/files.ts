import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Every file under a directory, as one string (latin1, so binary files do not throw), to prove a secret is not in it. */
export function readTree(dir: string): string {
  let out = "";
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    if (entry.isFile() && statSync(full).size < 5_000_000) out += readFileSync(full, "latin1");
  }
  return out;
}

/** The share of a file's pages in the page cache, from util-linux's fincore. */
export function residentFraction(path: string): number {
  const r = spawnSync("fincore", ["--bytes", "--noheadings", "--output", "RES,SIZE", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`fincore ${path}: ${r.stderr}`);
  const [res, size] = r.stdout.trim().split(/\s+/).map(Number);
  return (res as number) / (size as number);
}
