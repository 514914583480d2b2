// Konta's own top-level key in a Compose file, `x-konta:`. Compose ignores every `x-` key, so the
// file stays one that `docker compose` runs; Konta reads what is here and refuses what it does not
// know (a misspelt key would otherwise be silently ignored, and the order it asked for not kept).
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { ComposeKeyError } from "./errors.ts";
import type { KontaExtension } from "./model.ts";

const KEYS = ["depends_on"] as const;

/** `x-konta` of a merged project, checked; undefined when the file has none. */
export function kontaExtension(raw: any): KontaExtension | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ComposeKeyError("must be a mapping (e.g. x-konta: { depends_on: [proxy] })", ["x-konta"]);
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ComposeKeyError(`"${key}" is not a key Konta knows here (it knows: ${KEYS.join(", ")})`, ["x-konta", key]);
  }
  const out: KontaExtension = {};
  if (raw.depends_on !== undefined) {
    const list = raw.depends_on;
    if (!Array.isArray(list)) throw new ComposeKeyError("must be a list of project names (the folders under apps/)", ["x-konta", "depends_on"]);
    list.forEach((name: unknown, i: number) => {
      if (typeof name !== "string" || !name) throw new ComposeKeyError("must be a project name (a folder under apps/)", ["x-konta", "depends_on", i]);
    });
    if (list.length) out.depends_on = [...new Set(list as string[])];
  }
  return Object.keys(out).length ? out : undefined;
}
