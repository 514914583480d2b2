import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { ExitCode, InputError } from "../../lib/base/errors.ts";
import { check } from "../../lib/flows/check.ts";
import { isTarget, TARGETS } from "../../lib/targets/index.ts";
import { formatCheck } from "../check-format.ts";
import { execute, out } from "../run.ts";

const FORMATS = ["text", "json", "github", "gitlab"] as const;

export default defineCommand({
  meta: {
    name: "check",
    description:
      "Check a working tree as a sync would, before the merge. Every project goes through the loader and the target's rules a sync runs (env files, include, extends, interpolation, the config's restrictions, names and host ports two projects want); every refusal is printed with its file and line. No Git server, engine, token or root is needed. What only the server has (its env files and variables, SOPS keys, external networks) is a note, not a refusal, unless --strict. Exit 0 when every project would be accepted, 2 otherwise. In CI: docs/ci.md.",
  },
  args: {
    path: { type: "positional", required: false, description: "the working tree (default .)" },
    config: { type: "string", description: "the server's config (repository.path, restrictions, profiles, target); not read for secrets", valueHint: "file" },
    target: { type: "string", description: "engine or swarm (default: the config's deploy.target, else engine)", valueHint: "engine|swarm" },
    strict: { type: "boolean", description: "what only the server has (its variables, SOPS keys, external networks) is a refusal too" },
    format: { type: "string", description: "text (default), json, github (workflow commands: annotations on the pull request) or gitlab (a Code Quality report)", valueHint: "format" },
    verbose: { type: "boolean", description: "show debug detail" },
    quiet: { type: "boolean", description: "print errors only" },
  },
  run: (ctx) =>
    execute(ctx, async () => {
      const format = (ctx.args.format ?? "text") as (typeof FORMATS)[number];
      if (!FORMATS.includes(format)) throw new InputError(`--format ${format} is not one of ${FORMATS.join(", ")}`);
      const target = ctx.args.target;
      if (target !== undefined && !isTarget(target)) throw new InputError(`--target ${target} is not one of ${TARGETS.join(", ")}`);
      let config;
      if (ctx.args.config) {
        const file = resolve(ctx.args.config);
        const { parseConfig } = await import("../../lib/config/parse.ts");
        config = parseConfig(readFileSync(file, "utf8"), file);
      }
      const report = await check({ dir: ctx.args.path ?? ".", config, target, strict: ctx.args.strict });
      out(formatCheck(report, format));
      return report.accepted ? ExitCode.ok : ExitCode.badInput;
    }),
});
