// Version, commit and Bun version; the build script injects KONTA_VERSION and KONTA_COMMIT.
import pkg from "../../package.json" with { type: "json" };

declare const KONTA_VERSION: string | undefined;
declare const KONTA_COMMIT: string | undefined;

export const VERSION: string = typeof KONTA_VERSION === "string" ? KONTA_VERSION : pkg.version;
export const COMMIT: string = typeof KONTA_COMMIT === "string" ? KONTA_COMMIT : "dev";

export function versionLine(): string {
  return `konta ${VERSION} (commit ${COMMIT}, bun ${Bun.version})`;
}
