// Variable interpolation per the Compose specification: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
// ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}, nesting inside the default/alt part, and $$.

export type Lookup = (name: string) => string | undefined;

export class InterpolationError extends Error {
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super(message);
  }
}

export interface InterpolateHooks {
  /** called for a variable that is unset and has no default (Compose warns and uses "") */
  onUnset?: (name: string) => void;
  /** a value for a required variable that is missing (see LoadOptions.standIn); none: refused */
  standIn?: (name: string) => string | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Parse from `pos` until `stop` (a "}" closing a nested expression) or the end. */
function expand(s: string, pos: number, lookup: Lookup, hooks: InterpolateHooks, nested: boolean, dry = false): { out: string; end: number } {
  let out = "";
  let i = pos;
  while (i < s.length) {
    const c = s[i];
    if (nested && c === "}") return { out, end: i };
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "{") {
      const r = braced(s, i + 2, lookup, hooks, dry);
      out += r.out;
      i = r.end + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (m) {
      out += dry ? "" : value(m[0], lookup, hooks);
      i += 1 + m[0].length;
      continue;
    }
    // a "$" that starts nothing ("5$", "$ x", "$1") is kept as it is, as Compose keeps it
    out += "$";
    i++;
  }
  if (nested) throw new InterpolationError(`invalid interpolation format in "${s}": missing "}"`);
  return { out, end: i };
}

function value(name: string, lookup: Lookup, hooks: InterpolateHooks): string {
  const v = lookup(name);
  if (v === undefined) {
    hooks.onUnset?.(name);
    return "";
  }
  return v;
}

/** `s[start]` is just after "${". Returns the expansion and the index of the closing "}". */
function braced(s: string, start: number, lookup: Lookup, hooks: InterpolateHooks, dry: boolean): { out: string; end: number } {
  const m = NAME.exec(s.slice(start));
  if (!m) throw new InterpolationError(`invalid interpolation format in "${s}": expected a variable name after "\${"`);
  const name = m[0];
  let i = start + name.length;
  if (s[i] === "}") return { out: dry ? "" : value(name, lookup, hooks), end: i };
  const op = s.slice(i, i + 2).startsWith(":") ? s.slice(i, i + 2) : (s[i] ?? "");
  if (![":-", "-", ":?", "?", ":+", "+"].includes(op)) {
    throw new InterpolationError(`invalid interpolation format in "${s}": unexpected "${s[i] ?? "end of text"}" after \${${name}`);
  }
  i += op.length;
  // The word after the operator is only expanded when it is used, as in a shell.
  const end = expand(s, i, lookup, hooks, true, true).end;
  if (dry) return { out: "", end };
  const word = () => expand(s, i, lookup, hooks, true).out;
  const v = lookup(name);
  const set = v !== undefined;
  const nonEmpty = set && v !== "";
  switch (op) {
    case ":-":
      return { out: nonEmpty ? (v as string) : word(), end };
    case "-":
      return { out: set ? (v as string) : word(), end };
    case ":+":
      return { out: nonEmpty ? word() : "", end };
    case "+":
      return { out: set ? word() : "", end };
    default: {
      if (op === ":?" ? nonEmpty : set) return { out: v as string, end };
      const stand = hooks.standIn?.(name);
      if (stand !== undefined) return { out: stand, end };
      const why = word() || (op === ":?" ? "is not set or empty" : "is not set");
      throw new InterpolationError(`required variable ${name} is missing a value: ${why}`, name);
    }
  }
}

export function interpolateString(s: string, lookup: Lookup, hooks: InterpolateHooks = {}): string {
  if (!s.includes("$")) return s;
  return expand(s, 0, lookup, hooks, false).out;
}

/**
 * Interpolate every string value of a parsed YAML tree (keys are left alone, as the spec says).
 * `onError` receives the key path of the value that failed.
 */
export function interpolateTree(
  node: unknown,
  lookup: Lookup,
  hooks: InterpolateHooks,
  path: (string | number)[] = [],
  onError: (err: InterpolationError, path: (string | number)[]) => never = (e) => {
    throw e;
  },
): unknown {
  if (typeof node === "string") {
    try {
      return interpolateString(node, lookup, hooks);
    } catch (err) {
      if (err instanceof InterpolationError) onError(err, path);
      throw err;
    }
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolateTree(v, lookup, hooks, [...path, i], onError));
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolateTree(v, lookup, hooks, [...path, k], onError);
    return out;
  }
  return node;
}
