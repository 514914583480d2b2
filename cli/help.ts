// `konta --help` and `konta <command> --help`, written for a terminal: the top level is one line
// per command (its description's first sentence), the options every command takes and the exit
// codes, within 80 columns; a command's own help is its whole description and options, wrapped to
// the terminal's width.
import type { ArgsDef, CommandDef } from "citty";
import { globalArgs } from "./args.ts";

type Resolvable = CommandDef<any> | (() => Promise<CommandDef<any>>);
const resolve = async (c: Resolvable): Promise<CommandDef<any>> => (typeof c === "function" ? c() : c);

interface Meta {
  name?: string;
  description?: string;
  alias?: string | string[];
}

const metaOf = async (c: CommandDef<any>): Promise<Meta> => ((await (typeof c.meta === "function" ? c.meta() : c.meta)) ?? {}) as Meta;
const argsOf = async (c: CommandDef<any>): Promise<ArgsDef> => ((await (typeof c.args === "function" ? c.args() : c.args)) ?? {}) as ArgsDef;

/** The first clause of a description (up to its first period or colon): what one line of a command list shows. */
export function summary(description: string): string {
  const m = /^(.*?)[.:](\s|$)/s.exec(description.replace(/\s+/g, " ").trim());
  return m?.[1] ?? description;
}

/** Words of `text` in lines of at most `width` columns, each line after the first indented by `indent` spaces. */
export function wrap(text: string, width: number, indent = 0): string[] {
  const lines: string[] = [];
  // a single line break is a space; an empty line separates paragraphs
  for (const paragraph of text.split(/\n\s*\n/)) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const room = width - (lines.length ? indent : 0);
      if (line && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines.map((l, i) => (i > 0 && l ? " ".repeat(indent) + l : l));
}

/** `name  text`, the text wrapped beside a column of `at` characters. */
function row(name: string, text: string, at: number, width: number): string[] {
  const lines = wrap(text, width - at);
  return lines.map((l, i) => (i === 0 ? `${name.padEnd(at)}${l}` : `${" ".repeat(at)}${l}`));
}

function flagName(name: string, a: ArgsDef[string]): string {
  if (a.type === "positional") return `<${name}>`;
  const hint = (a as { valueHint?: string }).valueHint;
  return a.type === "boolean" ? `--${name}` : `--${name} <${hint ?? "value"}>`;
}

/** Terminal width for a command's help: the terminal's own, or 80 when there is none. */
export function terminalWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  return Math.max(60, Math.min(columns ?? 80, 120));
}

/** The top level: fits 80 columns and one 40-line screen. */
export async function rootHelp(main: CommandDef<any>, exitCodes: string): Promise<string> {
  const meta = await metaOf(main);
  const subs = Object.entries((main.subCommands ?? {}) as Record<string, Resolvable>);
  const names = await Promise.all(
    subs.map(async ([name, c]) => {
      const m = await metaOf(await resolve(c));
      return { name: [name, ...[m.alias ?? []].flat()].join(", "), text: summary(m.description ?? "") };
    }),
  );
  const at = Math.max(...names.map((n) => n.name.length)) + 4;
  const cut = (s: string) => (at + s.length > 80 ? `${s.slice(0, 80 - at - 1).trimEnd()}…` : s);
  const global = Object.entries(globalArgs).map(([name, a]) => ({ name: flagName(name, a), text: summary(a.description ?? "") }));
  const gat = Math.max(...global.map((g) => g.name.length)) + 4;
  return [
    ...wrap(meta.description ?? "", 80),
    "",
    "Usage: konta <command> [options]",
    "",
    "Commands:",
    ...names.map((n) => `  ${n.name.padEnd(at - 2)}${cut(n.text)}`),
    "",
    "Options every command takes (before or after the command):",
    ...global.flatMap((g) => row(`  ${g.name}`, g.text, gat, 80)),
    "",
    ...wrap(exitCodes, 80),
    "",
    ...wrap("`konta <command> --help` shows a command's options; `man konta` and docs/ the rest.", 80),
  ].join("\n");
}

/** One command's help, wrapped to `width`. */
export async function commandHelp(cmd: CommandDef<any>, path: string, width = terminalWidth()): Promise<string> {
  const meta = await metaOf(cmd);
  const args = Object.entries(await argsOf(cmd));
  const subs = Object.entries((cmd.subCommands ?? {}) as Record<string, Resolvable>);
  const positionals = args.filter(([, a]) => a.type === "positional");
  const options = args.filter(([, a]) => a.type !== "positional");
  const usage = [`konta ${path}`, ...(subs.length ? ["<command>"] : []), ...positionals.map(([n, a]) => ((a as { required?: boolean }).required ? `<${n}>` : `[<${n}>]`)), ...(options.length ? ["[options]"] : [])];
  const out = [...wrap(`Usage: ${usage.join(" ")}`, width, 7), "", ...wrap(meta.description ?? "", width)];
  if (subs.length) {
    const list = await Promise.all(subs.map(async ([n, c]) => ({ name: n, text: summary((await metaOf(await resolve(c))).description ?? "") })));
    const at = Math.max(...list.map((l) => l.name.length)) + 4;
    out.push("", "Commands:", ...list.flatMap((l) => row(`  ${l.name}`, l.text, at, width)));
  }
  const rows = [...positionals, ...options].map(([n, a]) => {
    const d = a as { description?: string; required?: boolean; default?: unknown };
    const off = a.type === "boolean" && d.default === true && !d.description?.includes(`--no-${n}`);
    const extra = d.required && a.type !== "positional" ? " (required)" : off ? ` (on; --no-${n} turns it off)` : "";
    return { name: `  ${flagName(n, a)}`, text: `${d.description ?? ""}${extra}` };
  });
  if (rows.length) {
    const at = Math.min(Math.max(...rows.map((r) => r.name.length)) + 2, 30);
    out.push("", "Options:", ...rows.flatMap((r) => (r.name.length + 2 > at ? [r.name, ...row("", r.text, at, width)] : row(r.name, r.text, at, width))));
  }
  return out.join("\n");
}
