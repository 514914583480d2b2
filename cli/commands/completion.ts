import { type CommandDef, defineCommand } from "citty";
import { InputError } from "../../lib/base/errors.ts";
import { bashScript, commandSpecs, fishScript, zshScript } from "../completion.ts";
import { out } from "../run.ts";

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript };

/** `konta completion <shell>`, over the CLI's root command (given by cli/main.ts, which defines it). */
export function completionCommand(root: () => CommandDef<any>) {
  return defineCommand({
    meta: {
      name: "completion",
      description:
        "Print a shell completion script (bash, zsh or fish). It is generated from these very commands: `source <(konta completion bash)`, or install it where the shell looks (the .deb does).",
    },
    args: { shell: { type: "positional", description: "bash, zsh or fish", required: true } },
    run: async (ctx) => {
      const make = SHELLS[ctx.args.shell as keyof typeof SHELLS];
      if (!make) throw new InputError(`no completion for "${ctx.args.shell}"; choose bash, zsh or fish`);
      out(make(await commandSpecs(root())).trimEnd());
    },
  });
}
