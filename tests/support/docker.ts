// The real Docker engine for tests: started when missing, an offline test image made from
// Debian's busybox-static, and clean-up by label of everything tests create.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ofetch } from "ofetch";

export const SOCKET = "/var/run/docker.sock";
/** Every Compose project a test deploys starts with this, so clean-up can find it by label. */
export const TEST_PREFIX = "kt-";
/** Label on containers, networks and volumes tests create directly (not through Konta). */
export const TEST_LABEL = "konta-test";
/**
 * Label on the server boxes and swarm nodes and their networks: they run beside the host-engine
 * tests (tests/run.sh), whose per-test clean-up removes what carries TEST_LABEL.
 */
export const BOX_LABEL = "konta-test-box";
export const IMAGE = "konta-test/busybox:1";
export const IMAGE2 = "konta-test/busybox:2";

export const engine = ofetch.create({ baseURL: "http://localhost/v1.41", unix: SOCKET, retry: 0 });

export function sh(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: Record<string, string> } = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function ping(): Promise<boolean> {
  try {
    await ofetch("http://localhost/_ping", { unix: SOCKET, retry: 0, timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

let ready: Promise<void> | undefined;

/** A running engine and the test images; once per test process. */
export function ensureEngine(): Promise<void> {
  ready ??= (async () => {
    if (!(await ping())) sh("bash", [join(import.meta.dir, "start-dockerd.sh")]);
    await ensureImage(IMAGE, "1");
    await ensureImage(IMAGE2, "2");
    await cleanup();
  })();
  return ready;
}

const APPLETS = ["sh", "sleep", "httpd", "echo", "cat", "ls", "mkdir", "true", "false", "env", "kill", "touch", "rm", "test", "printf", "id", "wget", "nc", "date", "grep", "ps", "hostname", "tail", "head", "wc", "seq", "cp", "uname"];

async function ensureImage(ref: string, version: string): Promise<void> {
  const exists = await engine(`/images/${encodeURIComponent(ref)}/json`).then(() => true, () => false);
  if (exists) return;
  const root = mkdtempSync(join(tmpdir(), "konta-rootfs-"));
  try {
    for (const d of ["bin", "etc", "tmp", "www", "data", "proc", "sys", "dev", "root"]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    copyFileSync("/bin/busybox", join(root, "bin/busybox"));
    chmodSync(join(root, "bin/busybox"), 0o755);
    for (const a of APPLETS) if (!existsSync(join(root, "bin", a))) symlinkSync("busybox", join(root, "bin", a));
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    writeFileSync(join(root, "etc/konta-image-version"), `${version}\n`);
    writeFileSync(join(root, "www/index.html"), `image ${version}\n`);
    sh("bash", ["-c", `tar -C '${root}' -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - ${ref}`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface Labelled {
  Id?: string;
  Name?: string;
  Labels?: Record<string, string> | null;
}

function ours(labels: Record<string, string> | null | undefined): boolean {
  if (!labels) return false;
  return labels[TEST_LABEL] !== undefined || (labels["com.docker.compose.project"] ?? "").startsWith(TEST_PREFIX);
}

/** Remove every container, network and volume a test created (found by label). */
export async function cleanup(): Promise<void> {
  const containers = await engine<Labelled[]>("/containers/json", { query: { all: 1 } });
  await Promise.all(
    containers.filter((c) => ours(c.Labels)).map((c) => engine(`/containers/${c.Id}`, { method: "DELETE", query: { force: 1, v: 1 } }).catch(() => {})),
  );
  const networks = await engine<Labelled[]>("/networks");
  for (const n of networks.filter((x) => ours(x.Labels) || (x.Name ?? "").startsWith(TEST_PREFIX))) {
    await engine(`/networks/${n.Id}`, { method: "DELETE" }).catch(() => {});
  }
  const volumes = (await engine<{ Volumes: Labelled[] | null }>("/volumes")).Volumes ?? [];
  for (const v of volumes.filter((x) => ours(x.Labels) || (x.Name ?? "").startsWith(TEST_PREFIX))) {
    await engine(`/volumes/${v.Name}`, { method: "DELETE", query: { force: 1 } }).catch(() => {});
  }
}

export interface ContainerInfo {
  Id: string;
  Name: string;
  Created: string;
  State: { Status: string; Running: boolean; StartedAt: string; Health?: { Status: string } };
  Config: { Labels: Record<string, string>; Env: string[]; Cmd: string[] | null; Entrypoint?: string[] | null; Image: string };
  HostConfig: Record<string, unknown>;
  NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> };
  Mounts: { Type: string; Source: string; Destination: string; Name?: string }[];
  Image: string;
}

export async function inspect(name: string): Promise<ContainerInfo | undefined> {
  return engine<ContainerInfo>(`/containers/${encodeURIComponent(name)}/json`).catch(() => undefined);
}

/** Containers of one Compose project, by name. */
export async function projectContainers(project: string): Promise<Map<string, ContainerInfo>> {
  const list = await engine<{ Id: string; Names: string[] }[]>("/containers/json", {
    query: { all: 1, filters: JSON.stringify({ label: [`com.docker.compose.project=${project}`] }) },
  });
  const out = new Map<string, ContainerInfo>();
  for (const c of list) {
    const info = await inspect(c.Id);
    if (info) out.set(info.Name.replace(/^\//, ""), info);
  }
  return out;
}

/** A container the tests start themselves (not through Konta), labelled for clean-up. */
export async function runUnmanaged(name: string, extraLabels: Record<string, string> = {}): Promise<string> {
  const { Id } = await engine<{ Id: string }>("/containers/create", {
    method: "POST",
    query: { name },
    body: { Image: IMAGE, Cmd: ["sleep", "3600"], Labels: { [TEST_LABEL]: "1", ...extraLabels } },
  });
  await engine(`/containers/${Id}/start`, { method: "POST" });
  return Id;
}

/** GET http://127.0.0.1:<port>/, or undefined when nothing answers. */
export async function httpGet(port: number, path = "/"): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    return await res.text();
  } catch {
    return undefined;
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000, what = "condition", intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** What a command in a running container prints (stdout and stderr), the engine's stream framing taken out. */
export async function execText(container: string, cmd: string[]): Promise<string> {
  return (await execIn(container, cmd)).replace(/[\x00-\x08]\x00\x00\x00[\s\S]{4}/g, "");
}

/** Run a command in a running container; stdout and stderr as text (frame headers included). */
export async function execIn(container: string, cmd: string[]): Promise<string> {
  const { Id } = await engine<{ Id: string }>(`/containers/${container}/exec`, { method: "POST", body: { Cmd: cmd, AttachStdout: true, AttachStderr: true } });
  const res = await fetch(`http://localhost/v1.41/exec/${Id}/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ Detach: false }),
    unix: SOCKET,
  } as RequestInit);
  return Buffer.from(await res.arrayBuffer()).toString("latin1");
}
