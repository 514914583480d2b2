// Reading a secret from stdin: piped (`echo $TOKEN | konta token set`) or typed at a terminal
// without echo. Never from argv, where it would show in `ps` and shell history.
import { InputError } from "../lib/base/errors.ts";

export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const text = await new Response(Bun.stdin.stream()).text();
    return validSecret(text.trim());
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  const value = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(() => resolve(buf));
        if (ch === "\u0003") return done(() => reject(new InputError("cancelled")));
        if (ch === "\u007f") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const done = (fn: () => void) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      fn();
    };
    stdin.on("data", onData);
  });
  return validSecret(value.trim());
}

function validSecret(value: string): string {
  if (!value) throw new InputError("no token on stdin", { hint: "pipe it in: konta token set < token.txt, or type it at the prompt" });
  if (/\s/.test(value)) throw new InputError("the token contains whitespace; paste only the token");
  return value;
}
