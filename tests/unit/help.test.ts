// `konta --help` reads like gh's or kubectl's: one line per command within 80 columns, on one
// 40-line screen; a command's own help is wrapped; the options every command takes may come first.
import { expect, test } from "bun:test";
import { commandSpecs } from "../../cli/completion.ts";
import { commandHelp, rootHelp, summary, wrap } from "../../cli/help.ts";
import { hoistGlobalFlags } from "../../cli/args.ts";
import { EXIT_CODES, main } from "../../cli/main.ts";

const widest = (text: string) => Math.max(...text.split("\n").map((l) => [...l].length));

test("the top level: every command on one line, at most 80 columns, at most 40 lines", async () => {
  const help = await rootHelp(main, EXIT_CODES);
  expect(widest(help)).toBeLessThanOrEqual(80);
  expect(help.split("\n").length).toBeLessThanOrEqual(40);
  const commands = Object.keys(main.subCommands ?? {});
  for (const name of commands) expect(help).toMatch(new RegExp(`^  ${name}[ ,]`, "m"));
  for (const flag of ["--config <file>", "--state-dir <dir>", "--instance <name>"]) expect(help).toContain(flag);
  expect(help).toContain("Exit codes: 0 success");
  expect(help).not.toContain("…");
});

test("each command's help is wrapped to the width it is given, its whole description and every option in it", async () => {
  for (const spec of await commandSpecs(main)) {
    if (!spec.path.length) continue;
    let cmd = main;
    for (const word of spec.path) {
      const sub = (cmd.subCommands as Record<string, unknown>)[word];
      cmd = typeof sub === "function" ? await (sub as () => Promise<typeof main>)() : (sub as typeof main);
    }
    for (const width of [60, 100]) {
      const help = await commandHelp(cmd, spec.path.join(" "), width);
      expect({ command: spec.path.join(" "), width, widest: widest(help) <= width }).toEqual({ command: spec.path.join(" "), width, widest: true });
      expect(help).toStartWith(`Usage: konta ${spec.path.join(" ")}`);
      expect(help.replace(/\s+/g, " ")).toContain(spec.fullDescription.replace(/\s+/g, " "));
      for (const f of spec.flags.filter((x) => !x.name.startsWith("no-"))) expect(help).toContain(`--${f.name}`);
    }
  }
});

test("wrap and summary", () => {
  expect(wrap("aaa bbb ccc ddd", 7, 2)).toEqual(["aaa bbb", "  ccc", "  ddd"]);
  expect(wrap("one\ntwo\n\nthree", 80)).toEqual(["one two", "three"]);
  expect(summary("Lift the hold of a rollback: the next sync deploys it. More.")).toBe("Lift the hold of a rollback");
  expect(summary("Print the version. With it the commit.")).toBe("Print the version");
});

test("the options every command takes may come before the command", () => {
  expect(hoistGlobalFlags(["--config", "/c.yaml", "status", "--json"])).toEqual(["status", "--json", "--config", "/c.yaml"]);
  expect(hoistGlobalFlags(["--state-dir=/s", "--verbose", "token", "set"])).toEqual(["token", "set", "--state-dir=/s", "--verbose"]);
  expect(hoistGlobalFlags(["--instance", "shop", "rollback", "abc1"])).toEqual(["rollback", "abc1", "--instance", "shop"]);
  // only those: any other leading flag, or nothing after them, is left for the parser to refuse
  expect(hoistGlobalFlags(["--now", "sync"])).toEqual(["--now", "sync"]);
  expect(hoistGlobalFlags(["--config", "/c.yaml"])).toEqual(["--config", "/c.yaml"]);
  expect(hoistGlobalFlags(["sync", "--config", "/c.yaml"])).toEqual(["sync", "--config", "/c.yaml"]);
});
