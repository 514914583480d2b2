// The man pages, generated from what Konta already says, so they cannot drift from it: konta(1) from
// the CLI's command tree (cli/main.ts: the same descriptions and flags as --help) and the "Exit
// codes" and "Files on the server" tables of docs/; konta.yaml(5) from docs/configuration.md's
// "Configuration" section (its annotated example and the text after it).
//   bun packaging/man.ts <out dir>      writes konta.1 and konta.yaml.5
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { commandSpecs } from "../cli/completion.ts";
import { main } from "../cli/main.ts";
import { VERSION } from "../lib/base/version.ts";

const ROOT = resolve(import.meta.dir, "..");
const DOCS = ["commands.md", "configuration.md"].map((f) => readFileSync(join(ROOT, "docs", f), "utf8")).join("\n");
const DATE = "2026-12";

/** Anything beyond ASCII as a groff escape (\[u2192]): the page renders the same in any locale. */
const ascii = (s: string) => s.replace(/[^\x00-\x7f]/gu, (c) => `\\[u${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0")}]`);

/** Text for roff: backslashes and line-leading dots escaped, markdown emphasis and links turned into roff. */
export function inline(md: string): string {
  return ascii(md.replaceAll("\\", "\\e"))
    .replace(/\[([^\]]+)\]\([^)]+\)/g, "$1")
    .replace(/\*\*([^*]+)\*\*/g, "\\fB$1\\fR")
    .replace(/`([^`]+)`/g, (_, code: string) => `\\fB${code.replaceAll("-", "\\-")}\\fR`)
    .replace(/\\e\|/g, "|")
    .replace(/^([.'])/gm, "\\&$1");
}

/** The body of a `## title` section of the reference in docs/ (up to the next `## `). */
export function section(title: string): string {
  const start = DOCS.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/ has no "## ${title}" section`);
  const rest = DOCS.slice(start + title.length + 5);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Markdown blocks (paragraphs, lists, code fences, tables, ### headings) as roff. */
export function blocks(md: string): string {
  const out: string[] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("```")) {
      const code: string[] = [];
      for (i++; i < lines.length && !(lines[i] as string).startsWith("```"); i++) code.push(ascii((lines[i] as string).replaceAll("\\", "\\e")).replace(/^([.'])/, "\\&$1"));
      out.push(".PP", ".nf", ".RS 4", ...code, ".RE", ".fi");
    } else if (line.startsWith("### ")) {
      out.push(`.SS ${inline(line.slice(4))}`);
    } else if (line.startsWith("|")) {
      const rows: string[][] = [];
      for (; i < lines.length && (lines[i] as string).startsWith("|"); i++) rows.push(cells(lines[i] as string));
      i--;
      for (const r of rows.slice(2)) out.push(".TP", inline(r[0] ?? ""), inline(r.slice(1).join(": ")));
    } else if (/^- /.test(line)) {
      const item = [line.slice(2)];
      for (; i + 1 < lines.length && /^ {2}\S/.test(lines[i + 1] as string); i++) item.push((lines[i + 1] as string).trim());
      out.push(".IP \\(bu 2", inline(item.join(" ")));
    } else if (line.trim()) {
      const para = [line];
      for (; i + 1 < lines.length && (lines[i + 1] as string).trim() && !/^(```|\||- |#)/.test(lines[i + 1] as string); i++) para.push(lines[i + 1] as string);
      out.push(".PP", inline(para.join(" ")));
    }
  }
  return out.join("\n");
}

function cells(row: string): string[] {
  return row
    .replace(/\\\|/g, "\u0000")
    .split("|")
    .slice(1, -1)
    .map((c) => c.trim().replaceAll("\u0000", "|"));
}

const header = (name: string, section: number, what: string) => `.TH ${name.toUpperCase()} ${section} "${DATE}" "konta ${VERSION}" "${what}"`;

export async function kontaPage(): Promise<string> {
  const specs = (await commandSpecs(main)).filter((s) => s.path.length);
  const rootMeta = main.meta as { description: string };
  const commands = await Promise.all(
    specs.map(async (s) => {
      const flags = s.flags.filter((f) => !["config", "state-dir", "verbose", "quiet"].includes(f.name) && !f.name.startsWith("no-"));
      return [
        ".TP",
        `\\fBkonta ${s.path.join(" ")}\\fR${s.positionals.map((p) => (p.required ? ` \\fI${p.name}\\fR` : ` [\\fI${p.name}\\fR]`)).join("")}${flags.map((f) => ` [\\fB\\-\\-${f.name}\\fR${f.takesValue ? " \\fIvalue\\fR" : ""}]`).join("")}`,
        inline(s.fullDescription),
        ...flags.flatMap((f) => [".RS", ".TP", `\\fB\\-\\-${f.name}\\fR${f.takesValue ? " \\fIvalue\\fR" : ""}`, inline(f.description), ".RE"]),
      ].join("\n");
    }),
  );
  return `${header("konta", 1, "Konta manual")}
.SH NAME
konta \\- GitOps for Docker Compose on a single server
.SH SYNOPSIS
\\fBkonta\\fR \\fIcommand\\fR [\\fIoptions\\fR]
.SH DESCRIPTION
${inline(rootMeta.description.replaceAll("\n", " "))}
.PP
Every command takes \\fB\\-\\-config\\fR \\fIfile\\fR (default /etc/konta/config.yaml, or KONTA_CONFIG), \\fB\\-\\-state\\-dir\\fR \\fIdir\\fR (default /var/lib/konta, or KONTA_HOME), \\fB\\-\\-verbose\\fR and \\fB\\-\\-quiet\\fR. \\fBkonta\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR shows one command.
.SH COMMANDS
${commands.join("\n")}
.SH EXIT STATUS
${blocks(section("Exit codes"))}
.SH ENVIRONMENT
.TP
\\fBKONTA_TOKEN\\fR
The Git token, over repository.token_file and repository.token.
.TP
\\fBKONTA_CONFIG\\fR, \\fBKONTA_HOME\\fR
The config file and the state directory, when \\fB\\-\\-config\\fR and \\fB\\-\\-state\\-dir\\fR are not given.
.TP
\\fBDOCKER_HOST\\fR
The engine's socket (unix:// only); default /var/run/docker.sock.
.SH FILES
${blocks(section("Files on the server"))}
.SH SEE ALSO
\\fBkonta.yaml\\fR(5), \\fBsystemctl\\fR(1), \\fBdocker\\fR(1)
`;
}

export function configPage(): string {
  return `${header("konta.yaml", 5, "Konta manual")}
.SH NAME
konta.yaml \\- the configuration of konta
.SH SYNOPSIS
/etc/konta/config.yaml
.SH DESCRIPTION
${blocks(section("Configuration"))}
.SH SEE ALSO
\\fBkonta\\fR(1)
`;
}

if (import.meta.main) {
  const dir = resolve(process.argv[2] ?? join(ROOT, "dist/man"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "konta.1"), await kontaPage());
  writeFileSync(join(dir, "konta.yaml.5"), configPage());
  console.log(`wrote ${join(dir, "konta.1")} and ${join(dir, "konta.yaml.5")}`);
}
