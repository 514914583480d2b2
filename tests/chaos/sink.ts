// The chaos run's notification endpoint inside the box: every POST body (Konta's json events) is
// appended as one line to the file given, so the driver can count failures notified per commit.
import { appendFileSync } from "node:fs";

const [port, file] = [Number(process.argv[2]), process.argv[3] as string];
Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    if (req.method === "POST") appendFileSync(file, `${JSON.stringify(JSON.parse(await req.text()))}\n`);
    return new Response("ok\n");
  },
});
