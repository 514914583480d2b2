// `konta webhook` through the binary, as konta-webhook@.service runs it: one request on stdin,
// the answer on stdout, and on an accepted push `systemctl start --no-block konta.service` (a
// recording systemctl on PATH stands in for systemd here; the server box runs the real one).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { kontaBinary, runKonta } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig({ docker: false });
const SECRET = "webhook-secret-for-tests-42";
const bin = mkdtempSync(join(tmpdir(), "konta-fake-systemctl-"));
const calls = join(bin, "calls");
writeFileSync(join(bin, "systemctl"), `#!/bin/bash\necho "$*" >> ${calls}\n`);
chmodSync(join(bin, "systemctl"), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function request(payload: unknown, headers: Record<string, string>, method = "POST"): string {
  const body = JSON.stringify(payload);
  const head = Object.entries({ host: "konta", "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n");
  return `${method} /hook HTTP/1.1\r\n${head}\r\n\r\n${body}`;
}
const sign = (payload: unknown, secret = SECRET) => `sha256=${new Bun.CryptoHasher("sha256", secret).update(JSON.stringify(payload)).digest("hex")}`;

describe("konta webhook", () => {
  test("a signed push to the branch: 202, konta.service started without waiting; anything else: no start", async () => {
    const repo = rig.repo();
    const env = rig.env(repo);
    writeFileSync(env.config, `${readFileSync(env.config, "utf8")}webhook:\n  secret: ${SECRET}\n`);
    const run = (input: string) => runKonta(env.args("webhook"), { input, env: { PATH: `${bin}:${process.env.PATH}` } });
    const push = { ref: "refs/heads/main", after: "0".repeat(40) };

    const ok = await run(request(push, { "x-hub-signature-256": sign(push) }));
    expect(ok.stdout).toStartWith("HTTP/1.1 202 Accepted\r\n");
    expect(readFileSync(calls, "utf8")).toBe("start --no-block konta.service\n");

    const bad = await run(request(push, { "x-hub-signature-256": sign(push, "not-the-secret-at-all") }));
    expect(bad.stdout).toStartWith("HTTP/1.1 401 ");
    const other = { ref: "refs/heads/dev" };
    const ignored = await run(request(other, { "x-hub-signature-256": sign(other) }));
    expect(ignored.stdout).toStartWith("HTTP/1.1 202 ");
    expect(ignored.stdout).toContain("ignored: a push to refs/heads/dev");
    const get = await run(request(push, { "x-gitlab-token": SECRET }, "GET"));
    expect(get.stdout).toStartWith("HTTP/1.1 404 "); // no status.password: the GET routes do not exist
    const big = await run(`POST / HTTP/1.1\r\ncontent-length: ${2 * 1024 * 1024}\r\nx-gitlab-token: ${SECRET}\r\n\r\n`);
    expect(big.stdout).toStartWith("HTTP/1.1 413 ");
    const truncated = await run(request(push, { "x-gitlab-token": SECRET }).slice(0, -5));
    expect(truncated.stdout).toStartWith("HTTP/1.1 400 ");
    // only the first, accepted request started anything
    expect(readFileSync(calls, "utf8")).toBe("start --no-block konta.service\n");
    expect(ok.all + bad.all).not.toContain(SECRET);
  });

  test("konta webhook secret set stores it encrypted; without a secret every request is refused", async () => {
    const repo = rig.repo();
    const env = rig.env(repo);
    const none = await runKonta(env.args("webhook"), { input: request({}, {}), env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(none.stdout).toStartWith("HTTP/1.1 500 ");
    const set = await runKonta(env.args("webhook", "secret", "set"), { input: `${SECRET}\n` });
    expect(set.code).toBe(0);
    const config = readFileSync(env.config, "utf8");
    expect(config).toContain("secret: enc:v1:");
    expect(config).not.toContain(SECRET);
    const push = { ref: "refs/heads/main" };
    const ok = await runKonta(env.args("webhook"), { input: request(push, { authorization: `Bearer ${SECRET}` }), env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(ok.stdout).toStartWith("HTTP/1.1 202 ");
  });

  test("install --print --webhook-port writes the socket-activated units; systemd-analyze verify passes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "konta-webhook-units-"));
    try {
      const r = await runKonta(["install", "--print", "--webhook-port", "9000", "--config", "/etc/konta/config.yaml", "--state-dir", "/var/lib/konta", "--interval", "60", "--binary", kontaBinary()]);
      expect(r.code).toBe(0);
      const parts = r.stdout.split(/^# (konta[-a-z@.]*)$/m).slice(1);
      for (let i = 0; i < parts.length; i += 2) writeFileSync(join(dir, parts[i] as string), (parts[i + 1] as string).replace(/^\n/, ""));
      expect(existsSync(join(dir, "konta-webhook@.service"))).toBe(true);
      const socket = readFileSync(join(dir, "konta-webhook.socket"), "utf8");
      expect(socket).toContain("ListenStream=9000");
      expect(socket).toContain("Accept=yes");
      expect(readFileSync(join(dir, "konta-webhook@.service"), "utf8")).toContain("StandardInput=socket");
      const v = spawnSync("systemd-analyze", ["verify", "konta.service", "konta.timer", "konta-webhook.socket", "konta-webhook@.service"], { cwd: dir, encoding: "utf8" });
      expect(v.stderr).toBe("");
      expect(v.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
