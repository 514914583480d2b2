// Shell completion scripts generated from the command definitions the CLI itself runs (cli/main.ts),
// so a new command or flag completes without anyone editing a script. Release SHAs for `rollback`
// come from `konta releases --json` at completion time.
import type { ArgsDef, CommandDef } from "citty";

export interface CommandSpec {
  /** words from the top: ["token", "set"] */
  path: string[];
  /** the first line, as completions show it */
  description: string;
  /** the whole description, as --help shows it */
  fullDescription: string;
  flags: { name: string; takesValue: boolean; description: string }[];
  subcommands: string[];
  /** positional arguments: name, and whether it must be given */
  positionals: { name: string; required: boolean }[];
}

type Resolvable = CommandDef<any> | (() => Promise<CommandDef<any>>);
const resolve = async (c: Resolvable) => (typeof c === "function" ? c() : c);

/** Every command and subcommand, depth first. */
export async function commandSpecs(root: CommandDef<any>, path: string[] = []): Promise<CommandSpec[]> {
  const meta = (await (typeof root.meta === "function" ? root.meta() : root.meta)) ?? {};
  const args = ((await (typeof root.args === "function" ? root.args() : root.args)) ?? {}) as ArgsDef;
  const subs = Object.entries((root.subCommands ?? {}) as Record<string, Resolvable>);
  const flags = Object.entries(args)
    .filter(([, a]) => a.type !== "positional")
    .flatMap(([name, a]) => {
      const description = (a.description ?? "").split("\n")[0] ?? "";
      // a boolean that defaults to true is turned off with --no-<name>
      const main = { name, takesValue: a.type !== "boolean", description };
      return a.type === "boolean" && a.default === true ? [main, { name: `no-${name}`, takesValue: false, description: `not ${description}` }] : [main];
    });
  const fullDescription = (meta as { description?: string }).description ?? "";
  const positionals = Object.entries(args)
    .filter(([, a]) => a.type === "positional")
    .map(([name, a]) => ({ name, required: (a as { required?: boolean }).required === true }));
  const spec: CommandSpec = { path, description: fullDescription.split("\n")[0] ?? "", fullDescription, flags, subcommands: subs.map(([n]) => n), positionals };
  const children = await Promise.all(subs.map(async ([n, c]) => commandSpecs(await resolve(c), [...path, n])));
  return [spec, ...children.flat()];
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** What completes a positional word of a command, per shell: release SHAs for rollback, a shell for completion. */
function positional(path: string[], shell: "bash" | "fish"): string | undefined {
  const cmd = path.join(" ");
  if (cmd === "rollback") return shell === "bash" ? `$(konta releases --json 2>/dev/null | grep -o '"sha": *"[0-9a-f]\\{12\\}' | grep -o '[0-9a-f]\\{12\\}$')` : "(__konta_releases)";
  if (cmd === "completion") return "bash zsh fish";
  return undefined;
}

export function bashScript(specs: CommandSpec[]): string {
  const cases = specs.map((s) => {
    const words = [...s.subcommands, ...s.flags.map((f) => `--${f.name}`)].join(" ");
    const valued = s.flags.filter((f) => f.takesValue).map((f) => `--${f.name}`);
    const pos = positional(s.path, "bash");
    return [
      `    ${quote(s.path.join(" "))})`,
      valued.length ? `      case "$prev" in ${valued.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac` : "",
      `      words=${quote(words)}${pos ? `; [[ "$cur" != -* ]] && words="$words ${pos}"` : ""}`,
      "      ;;",
    ]
      .filter(Boolean)
      .join("\n");
  });
  const commandWords = specs.filter((s) => s.path.length).map((s) => s.path.join(" "));
  return `# bash completion for konta (konta completion bash); generated from the CLI's own command definitions
_konta() {
  local cur prev words path="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # the deepest command named so far ("token set"), flags and their values skipped
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case " \${path:+$path }$w" in
${commandWords.map((c) => `      ${quote(` ${c}`)}) path="${c}" ;;`).join("\n")}
    esac
  done
  case "$path" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _konta konta
`;
}

export function zshScript(specs: CommandSpec[]): string {
  // zsh runs the bash function through bashcompinit: one behaviour for both shells
  return `#compdef konta
# zsh completion for konta (konta completion zsh); generated from the CLI's own command definitions
autoload -U +X bashcompinit && bashcompinit
${bashScript(specs).replace(/^# bash completion.*\n/, "")}`;
}

export function fishScript(specs: CommandSpec[]): string {
  const lines = [
    "# fish completion for konta (konta completion fish); generated from the CLI's own command definitions",
    "function __konta_releases",
    `    konta releases --json 2>/dev/null | string match -rg '"sha": *"([0-9a-f]{12})'`,
    "end",
    "complete -c konta -f",
  ];
  for (const s of specs) {
    const seen = s.path.length ? `__fish_seen_subcommand_from ${s.path.at(-1)}` : "__fish_use_subcommand";
    const parent = s.path.length > 1 ? `__fish_seen_subcommand_from ${s.path.at(-2)}; and ` : "";
    if (s.path.length) {
      const where = s.path.length === 1 ? "__fish_use_subcommand" : `__fish_seen_subcommand_from ${s.path.at(-2)}`;
      lines.push(`complete -c konta -n ${quote(where)} -a ${quote(s.path.at(-1) as string)} -d ${quote(s.description)}`);
    }
    for (const f of s.flags) lines.push(`complete -c konta -n ${quote(parent + seen)} -l ${f.name}${f.takesValue ? " -r" : ""} -d ${quote(f.description)}`);
    const pos = positional(s.path, "fish");
    if (pos) lines.push(`complete -c konta -n ${quote(seen)} -a ${quote(pos)}`);
  }
  return `${lines.join("\n")}\n`;
}
