// One place that knows the secrets of this run, so every way out (logs, errors, state, hook
// environments, notifications) can scrub them, whatever library produced the text.

const secrets = new Set<string>();
const MASK = "***";

/** Register a secret and the encodings it could leak in (Basic auth header, URL-encoded). */
export function registerSecret(secret: string | undefined, basicUser = "x-access-token"): void {
  if (!secret || secret.length < 4) return;
  secrets.add(secret);
  secrets.add(encodeURIComponent(secret));
  secrets.add(Buffer.from(`${basicUser}:${secret}`).toString("base64"));
}

/** A secret value that may span lines (a key file, a certificate): masked whole and line by line. */
export function registerSecretValue(value: string): void {
  for (const part of [value, ...value.split("\n")]) registerSecret(part.trim());
}

/** Remove credentials from URLs (`https://user:pass@host` -> `https://host`) and every registered secret. */
export function redact(text: string): string {
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*(?::[^/\s@]*)?@/gi, "$1");
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/** Deep-redact a JSON-able value (state, summaries, notifications). */
export function redactValue<T>(value: T): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactValue) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
  }
  return value;
}

/** For tests: forget what earlier runs in the same process registered. */
export function clearSecrets(): void {
  secrets.clear();
}
