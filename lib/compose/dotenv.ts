// The `.env` / `env_file` format exactly as Docker Compose v2 reads it (compose-go's dotenv parser,
// whose behaviour, not code, this follows; tests/oracle/dotenv.test.ts holds the two side by side):
// - a statement is `[export ]KEY=VALUE`, `KEY: VALUE` (YAML-style) or a bare `KEY` (taken from the
//   lookup, left out when it is not set); keys are letters, digits (also first), `_ . - [ ]`;
// - unquoted values run to the end of the line, cut at ` #` (a space, then #), trimmed on the right;
// - 'single quotes' are literal but for `\'`; "double quotes" take `\"`, the escapes \a \b \f \n \r
//   \t \v \\ \$ and octal `\0ddd`; both may span lines; after the closing quote the next statement
//   may follow on the same line;
// - unquoted and double-quoted values are interpolated: the lookup first, then the lines above.
import { interpolateString, InterpolationError, type Lookup } from "./interpolate.ts";

export class DotenvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Go's unicode.IsSpace (a line break too). */
const isSpace = (c: string) => /\s/u.test(c) && c !== "\uFEFF";
/** Space within a line (compose-go's isSpace): no line break. */
const isBlank = (c: string) => c === " " || c === "\t" || c === "\v" || c === "\f" || c === "\r" || c === "\u0085" || c === "\u00a0";
const KEY_CHAR = /^[\p{L}\p{N}_.[\]-]$/u;
const ESCAPE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;
const SIMPLE_ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", '"': '"', "\\": "\\", $: "$$" };

/**
 * The variables of a dotenv text, in file order. `${VAR}` resolves from `lookup`, then the lines
 * above. Errors name the line, never its text: the file may be a host file holding secrets.
 */
export function parseDotenv(text: string, lookup: Lookup = () => undefined): Record<string, string> {
  return new Parser(text.replace(/^\uFEFF/, ""), lookup).parse();
}

class Parser {
  private pos = 0;
  private line = 1;
  private readonly vars: Record<string, string> = Object.create(null);

  constructor(
    private readonly src: string,
    private readonly lookup: Lookup,
  ) {}

  parse(): Record<string, string> {
    while (this.statementStart()) {
      const { key, bare } = this.key();
      if (bare) {
        const value = key === "" ? undefined : this.lookup(key);
        if (value !== undefined) this.vars[key] = value;
      } else {
        this.vars[key] = this.value(key);
      }
    }
    return this.vars;
  }

  /** Skips blank space and comment lines; false at the end of the text. */
  private statementStart(): boolean {
    const { src } = this;
    while (this.pos < src.length) {
      const c = src[this.pos] as string;
      if (c === "#") {
        const nl = src.indexOf("\n", this.pos);
        if (nl < 0) return false;
        this.pos = nl;
      } else if (isSpace(c)) {
        if (c === "\n") this.line++;
        this.pos++;
      } else return true;
    }
    return false;
  }

  private key(): { key: string; bare: boolean } {
    const { src } = this;
    if (/^export\s+/.test(src.slice(this.pos, this.pos + 64))) this.skipBlank(this.pos + "export".length);
    const start = this.pos;
    while (this.pos < src.length) {
      const c = String.fromCodePoint(src.codePointAt(this.pos) as number);
      if (c === "=" || c === ":" || c === "\n") {
        const key = this.keyText(start);
        // "=value" would give the engine an entry without a name; Compose 2.26 passes it on
        if (key === "" && c !== "\n") this.fail(`a line starts with "${c}" instead of a variable name`);
        this.skipBlank(this.pos + 1);
        if (c === "\n") this.line++;
        return { key, bare: c === "\n" };
      }
      if (!isBlank(c) && !KEY_CHAR.test(c)) this.fail(`unexpected character ${JSON.stringify(c)} in a variable name (letters, digits, _ . - [ ])`);
      this.pos += c.length;
    }
    // A bare KEY on the last line, without a line break: Compose 2.26 files the whole text under the
    // empty name (an entry "=KEY" the engine cannot take); it is read as the KEY it is.
    return { key: this.keyText(start), bare: true };
  }

  private keyText(start: number): string {
    const key = this.src.slice(start, this.pos).replace(/\s+$/u, "");
    if (key.includes(" ")) this.fail("a variable name cannot contain a space");
    return key;
  }

  private value(key: string): string {
    const { src } = this;
    const quote = src[this.pos];
    const line = this.line;
    if (quote !== '"' && quote !== "'") {
      let end = src.indexOf("\n", this.pos);
      if (end < 0) end = src.length;
      let raw = src.slice(this.pos, end);
      this.pos = end;
      const comment = raw.indexOf(" #");
      if (comment >= 0) raw = raw.slice(0, comment);
      return this.expand(raw.replace(/\s+$/u, ""), key, line);
    }
    let chars = "";
    let escaped = false;
    for (let i = this.pos + 1; i < src.length; i++) {
      const c = src[i] as string;
      if (c === "\n") this.line++;
      if (c === quote && !escaped) {
        this.pos = i + 1;
        return quote === "'" ? chars : this.expand(unescape(chars), key, line);
      }
      if (c === "\\" && !escaped) {
        escaped = true;
        continue;
      }
      // a backslash stays before anything but the quote itself
      if (escaped && c !== quote) chars += "\\";
      escaped = false;
      chars += c;
    }
    this.line = line;
    return this.fail(`unterminated ${quote === '"' ? "double" : "single"}-quoted value of ${key}`);
  }

  private expand(value: string, key: string, line: number): string {
    try {
      return interpolateString(value, (name) => this.lookup(name) ?? this.vars[name]);
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err;
      // the message of ${VAR:?message} is the author's; a malformed expression is not quoted
      const why = err.variable ? err.message : "invalid ${...} expression";
      throw new DotenvError(`line ${line}: the value of ${key}: ${why}`, line);
    }
  }

  private skipBlank(from: number): void {
    this.pos = from;
    while (this.pos < this.src.length && isBlank(this.src[this.pos] as string)) this.pos++;
  }

  private fail(message: string): never {
    throw new DotenvError(`line ${this.line}: ${message}`, this.line);
  }
}

/** The escapes of a double-quoted value; `\$` becomes `$$` (a literal `$` for the interpolation). */
function unescape(s: string): string {
  return s.replace(ESCAPE, (m) => {
    const c = m[1] as string;
    if (c !== "0") return SIMPLE_ESCAPES[c] ?? m;
    // Go's octal escape: exactly three digits 0-7, at most \377; otherwise the "0" is dropped
    // (compose-go rewrites "\0ddd" to "\ddd" before it tries, and keeps the rewrite when that fails)
    const digits = m.slice(2);
    return /^[0-7]{3}$/.test(digits) && Number.parseInt(digits, 8) <= 0o377 ? String.fromCharCode(Number.parseInt(digits, 8)) : `\\${digits}`;
  });
}
