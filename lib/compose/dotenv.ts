// The `.env` / `env_file` format as Docker Compose reads it: KEY=VALUE lines, optional `export`,
// comments, single quotes (literal), double quotes (escapes, may span lines), unquoted values with
// ` #` comments, and ${VAR} interpolation as compose-go resolves it: the lookup (the environment)
// first, then the variables defined above, then the fallback (what earlier files defined).
import { interpolateString, type Lookup } from "./interpolate.ts";

export class DotenvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$$" };

/** Returns the variables in file order; a bare `KEY` (no "=") maps to the lookup's value or undefined. */
export function parseDotenv(text: string, lookup: Lookup = () => undefined, fallback: Lookup = () => undefined): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {};
  const resolve: Lookup = (name) => lookup(name) ?? (name in vars ? vars[name] : fallback(name));
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let line = (lines[n] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("export ")) line = line.slice(7).trimStart();
    const eq = line.indexOf("=");
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    // the text itself is never quoted: the file may be a host file (root's /etc/shadow read as a label_file)
    if (!KEY.test(key)) throw new DotenvError(`line ${lineNo}: not a KEY=VALUE line with a valid variable name (letters, digits, _ . -; not starting with a digit)`, lineNo);
    if (eq < 0) {
      vars[key] = lookup(key);
      continue;
    }
    let raw = line.slice(eq + 1).trimStart();
    const quote = raw[0];
    if (quote === "'" || quote === '"') {
      // the value may continue on the following lines until the closing quote
      let body = raw.slice(1);
      let close = findClose(body, quote);
      while (close < 0 && n + 1 < lines.length) {
        n++;
        body += `\n${lines[n]}`;
        close = findClose(body, quote);
      }
      if (close < 0) throw new DotenvError(`line ${lineNo}: unterminated ${quote} quote for ${key}`, lineNo);
      const content = body.slice(0, close);
      const after = body.slice(close + 1).trim();
      if (after && !after.startsWith("#")) throw new DotenvError(`line ${lineNo}: unexpected text after the closing quote of ${key}`, lineNo);
      vars[key] = quote === "'" ? content : interpolateString(content.replace(/\\(.)/g, (m, c: string) => ESCAPES[c] ?? m), resolve);
      continue;
    }
    const comment = raw.search(/\s#/);
    if (comment >= 0) raw = raw.slice(0, comment);
    vars[key] = interpolateString(raw.trim(), resolve);
  }
  return vars;
}

function findClose(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "\\" && quote === '"') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}
