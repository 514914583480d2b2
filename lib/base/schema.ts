// Errors of JSON-schema validation that a person can act on: the file, the key path in dotted
// form, the line when the YAML parser knows it, and what was expected. The validators themselves
// are compiled ahead of time (lib/generated, by packaging/validators.ts).
import type { ErrorObject, ValidateFunction } from "ajv";
import { InputError } from "./errors.ts";
import type { ParsedYaml } from "./yaml.ts";

export function keyPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("") || "(top level)";
}

function segments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(err: ErrorObject): { path: (string | number)[]; text: string } {
  const path = segments(err.instancePath);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case "additionalProperties":
      return { path: [...path, String(p.additionalProperty)], text: "unknown key" };
    case "required":
      return { path: [...path, String(p.missingProperty)], text: "is required" };
    case "type":
      return { path, text: `must be ${String(p.type).replace(",", " or ")}` };
    case "enum":
      return { path, text: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    default:
      return { path, text: err.message ?? err.keyword };
  }
}

/** Errors that only say "must match a schema in anyOf" repeat a more precise one; keep the precise ones. */
function mostUseful(errors: ErrorObject[]): ErrorObject[] {
  const precise = errors.filter((e) => !["anyOf", "oneOf", "if", "not"].includes(e.keyword));
  return precise.length ? precise : errors;
}

export interface ValidationContext {
  file: string;
  yaml?: ParsedYaml;
  /** prefix to the key paths (e.g. a service name when validating one part) */
  base?: (string | number)[];
}

export function formatValidationErrors(errors: ErrorObject[], ctx: ValidationContext): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const err of mostUseful(errors)) {
    const { path, text } = describe(err);
    const full = [...(ctx.base ?? []), ...path];
    let line: number | undefined;
    for (let n = full.length; n >= 0 && line === undefined; n--) line = ctx.yaml?.lineOf(full.slice(0, n));
    const msg = `${ctx.file}${line ? `:${line}` : ""}: ${keyPath(full)}: ${text}`;
    if (!seen.has(msg)) {
      seen.add(msg);
      lines.push(msg);
    }
  }
  return lines;
}

/** Validate and throw one InputError listing every problem (at most 20). */
export function assertValid(validate: ValidateFunction, value: unknown, ctx: ValidationContext, what: string): void {
  if (validate(value)) return;
  const lines = formatValidationErrors(validate.errors ?? [], ctx);
  const shown = lines.slice(0, 20);
  const more = lines.length > shown.length ? `\n  ... and ${lines.length - shown.length} more` : "";
  throw new InputError(`invalid ${what}:\n  ${shown.join("\n  ")}${more}`, { where: ctx.file });
}
