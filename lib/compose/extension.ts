// Konta's own top-level key in a Compose file, `x-konta:`. Compose ignores every `x-` key, so the
// file stays one that `docker compose` runs; Konta reads what is here and refuses what it does not
// know (a misspelt key would otherwise be silently ignored, and the order it asked for not kept).
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { ComposeKeyError } from "./errors.ts";
import type { KontaExtension } from "./model.ts";

const KEYS = ["depends_on", "secrets"] as const;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** "<provider>:<reference>": the provider a name of secrets.providers in the server's config */
const REFERENCE = /^([a-z][a-z0-9_-]*):(\S.*)$/;

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
  const secrets = secretReferences(raw.secrets);
  if (secrets && Object.keys(secrets).length) out.secrets = secrets;
  return Object.keys(out).length ? out : undefined;
}

/** `x-konta.secrets`: variable name -> "<provider>:<reference>", checked (read before the file is interpolated). */
export function secretReferences(raw: unknown): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ComposeKeyError('must be a mapping of variable names to references (e.g. DB_PASSWORD: "bao:kv/shop#db_password")', ["x-konta", "secrets"]);
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(raw)) {
    const at = ["x-konta", "secrets", name];
    if (!VARIABLE.test(name)) throw new ComposeKeyError(`"${name}" is not a variable name (letters, digits and _, not first a digit)`, at);
    if (typeof ref !== "string" || !REFERENCE.test(ref)) throw new ComposeKeyError('must be "<provider>:<reference>", the provider one of secrets.providers in the server\'s config (e.g. "bao:kv/shop#db_password")', at);
    if (ref.includes("$")) throw new ComposeKeyError("a reference is taken as written: no ${...} in it", at);
    out[name] = ref;
  }
  return out;
}

/** The provider a reference names. */
export function providerOf(ref: string): string {
  return (REFERENCE.exec(ref) as RegExpExecArray)[1] as string;
}

/** The part of a reference after its provider: what the provider is asked for. */
export function referenceOf(ref: string): string {
  return ref.slice(ref.indexOf(":") + 1);
}
