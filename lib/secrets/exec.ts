// A secret manager reached through a program, in the shape of Docker's credential helpers: the
// provider's `command` gets the reference on stdin and prints the value on stdout (with
// `json_field`: JSON holding it). Each reference one run of it, in its own process group, killed
// with its children after `timeout` seconds. What it says on stderr is logged, redacted.
import { spawn } from "node:child_process";
import { log } from "../base/log.ts";
import { redact, registerSecretValue } from "../base/redact.ts";
import { UnreachableError } from "../base/errors.ts";
import type { ProviderConfig } from "../config/types.ts";
import { referenceOf } from "../compose/extension.ts";

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(command: string[], input: string, timeoutSeconds: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), { detached: true, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutSeconds * 1000);
    const done = (code: number | null) => {
      clearTimeout(timer);
      // a child it left in the background must not outlive the fetch (nor hold its pipes open)
      killGroup();
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
    };
    child.on("error", (e) => {
      err.push(Buffer.from(e.message));
      done(127);
    });
    child.on("close", (code) => done(code));
    child.stdin.on("error", () => {}); // a program that does not read its stdin
    child.stdin.end(`${input}\n`);
  });
}

/** The values of `refs`, one run of the provider's command each (at once). */
export async function execFetch(name: string, p: ProviderConfig, refs: string[]): Promise<Map<string, string>> {
  const command = p.command as string[];
  const results = await Promise.all(
    refs.map(async (ref) => {
      const r = await run(command, referenceOf(ref), p.timeout);
      const failed = (why: string) =>
        new UnreachableError(`secrets: provider ${name} (${command[0]}) could not give ${ref}: ${why}`, { hint: "nothing was changed and the commit is not blamed: the next run tries again" });
      if (r.timedOut) throw failed(`no answer within ${p.timeout} s (killed)`);
      let value = r.stdout.replace(/\r?\n$/, "");
      if (r.code === 0 && p.json_field) {
        try {
          const field = (JSON.parse(value) as Record<string, unknown>)[p.json_field];
          value = typeof field === "string" ? field : "";
        } catch {
          value = "";
        }
        if (!value) throw failed(`its output is not JSON with a text field "${p.json_field}"`);
      }
      // the value is masked before anything it printed is shown
      if (r.code === 0 && value) registerSecretValue(value);
      const stderr = r.stderr.trim().split("\n").filter(Boolean);
      if (r.code !== 0) throw failed(`exited with ${r.code}${stderr.length ? `: ${redact(stderr.slice(-3).join(" / "))}` : ""}`);
      for (const line of stderr) log.warn(`secrets: ${name}: ${redact(line)}`);
      if (!value) throw failed("it printed nothing");
      return [ref, value] as const;
    }),
  );
  return new Map(results);
}
