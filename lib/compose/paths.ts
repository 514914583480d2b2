// Host paths in Compose files: `~` expands to the home directory of the user Konta runs as (as
// Docker Compose does), relative paths resolve against the file's folder, and a relative path may
// not leave the repository, neither with ".." nor through a symlink.
import { dirname, isAbsolute, resolve } from "node:path";
import { isInside } from "../base/fsutil.ts";
import { exists, homeDir, realpath } from "./inputs.ts";

export class PathEscapeError extends Error {}

export function expandHome(p: string): string {
  if (p === "~") return homeDir();
  if (p.startsWith("~/")) return resolve(homeDir(), p.slice(2));
  if (p.startsWith("~")) throw new PathEscapeError(`"${p}": only "~/" (the home of the user running Konta) is supported, not "~user"`);
  return p;
}

/** realpath of the longest existing prefix, with the missing tail appended. */
export function realpathLoose(p: string): string {
  let head = p;
  const tail: string[] = [];
  while (!exists(head)) {
    const parent = dirname(head);
    if (parent === head) break;
    tail.unshift(head.slice(parent.length + 1));
    head = parent;
  }
  return resolve(realpath(head), ...tail);
}

/**
 * Resolve a path written in a Compose file. Absolute and `~` paths are host paths, returned as they
 * are; relative ones must stay inside `repoRoot` after following symlinks.
 */
export function resolveComposePath(p: string, baseDir: string, repoRoot: string): { path: string; inRepo: boolean } {
  const expanded = expandHome(p);
  if (isAbsolute(expanded)) return { path: resolve(expanded), inRepo: false };
  const abs = resolve(baseDir, expanded);
  const root = realpath(repoRoot);
  if (!isInside(repoRoot, abs) || !isInside(root, realpathLoose(abs))) {
    throw new PathEscapeError(`"${p}" leads outside the repository (via ".." or a symlink); only paths inside the repository or absolute host paths are allowed`);
  }
  return { path: abs, inRepo: true };
}
