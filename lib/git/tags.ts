// repository.tag: instead of a branch, the newest tag that matches: a semver range (">=1.0.0",
// "~2.3", "^1", "v1.x") or a glob ("release-*", "v2.*"). Newest is semver order (a leading "v" is
// ignored); tags that are no version (a glob's) after the versions, newest name first. A
// pre-release (1.3.0-rc.1) is taken only when the pattern names one (">=2.0.0-rc.0", "v2.0.0-*").
import semver from "semver";

/** A glob over tag names: `*` any run of characters but "/", `?` one. */
function globRegex(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

/** The tag of `names` that `pattern` selects, or undefined when none matches. */
export function newestTag(names: string[], pattern: string): string | undefined {
  const prerelease = /\d-/.test(pattern);
  // a range when semver reads one (a leading "v" as in tag names); anything else is a glob
  const range = semver.validRange(pattern.replace(/(^|[\s<>=~^|])v(?=\d|\*|x)/g, "$1"), { includePrerelease: prerelease });
  const matches = range
    ? names.filter((n) => {
        const v = semver.clean(n);
        return v !== null && semver.satisfies(v, range, { includePrerelease: prerelease });
      })
    : names.filter((n) => globRegex(pattern).test(n) && (prerelease || !semver.prerelease(semver.clean(n) ?? "0.0.0")));
  const versioned = matches.filter((n) => semver.clean(n) !== null).sort((a, b) => semver.rcompare(semver.clean(a) as string, semver.clean(b) as string));
  const others = matches.filter((n) => semver.clean(n) === null).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  return versioned[0] ?? others[0];
}

/** Whether tag `a` is older than tag `b`, by the order newestTag uses (undefined when they cannot be compared). */
export function olderTag(a: string, b: string): boolean | undefined {
  const [x, y] = [semver.clean(a), semver.clean(b)];
  if (x === null || y === null) return undefined;
  return semver.lt(x, y);
}
