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
