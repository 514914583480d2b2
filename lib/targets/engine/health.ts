// The health gate: a container Konta created or started must be running (and healthy when it has
// a healthcheck) within the timeout. One that exits, restarts in a loop or turns unhealthy fails
// the gate, with the end of its log in the message so the cause is right there.
import { DeployError } from "../../base/errors.ts";
import type { GateOptions } from "../types.ts";
import type { DockerClient } from "../../docker/client.ts";
import { inspectContainer } from "../../docker/engine.ts";

export interface GateEntry {
  id: string;
  name: string;
  service: string;
  /** an exit with code 0 counts as success (restart: no / on-failure) */
  oneShot: boolean;
}


export type Verdict = { done: true; ok: true } | { done: true; ok: false; why: string } | { done: false; why: string };

async function logTail(docker: DockerClient, id: string, lines = 8): Promise<string> {
  try {
    const raw = await docker.request<ArrayBuffer>("GET", `/containers/${id}/logs`, {
      query: { stdout: 1, stderr: 1, tail: lines },
      responseType: "arrayBuffer",
    });
    return demux(Buffer.from(raw)).trim();
  } catch {
    return "";
  }
}

/** Docker multiplexes stdout/stderr with 8-byte frame headers unless the container has a TTY. */
export function demux(buf: Buffer): string {
  if (buf.length < 8 || buf[0]! > 2 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return buf.toString("utf8");
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString("utf8");
    i += 8 + size;
  }
  return out;
}

export async function waitHealthy(docker: DockerClient, entries: GateEntry[], opts: GateOptions): Promise<void> {
  const pending = new Map(entries.map((e) => [e.id, e]));
  const restarts = new Map<string, number>();
  const seen = new Map<string, { startedAt: string; at: number }>();
  const deadline = Date.now() + opts.timeoutMs;
  const last = new Map<string, string>();
  while (pending.size) {
    for (const entry of [...pending.values()]) {
      const v = await verdict(docker, entry, restarts, seen, opts.minUptimeMs);
      if (!v.done) {
        last.set(entry.id, v.why);
        continue;
      }
      if (!v.ok) {
        const tail = await logTail(docker, entry.id);
        throw new DeployError(`${entry.name} failed the health gate: ${v.why}`, {
          hint: tail ? `last log lines of ${entry.name}:\n${tail.split("\n").map((l) => `    ${l}`).join("\n")}` : `see: docker logs ${entry.name}`,
        });
      }
      pending.delete(entry.id);
    }
    if (!pending.size) return;
    if (Date.now() > deadline) {
      const [first] = pending.values();
      const tail = first ? await logTail(docker, first.id) : "";
      const names = [...pending.values()].map((e) => `${e.name} (${last.get(e.id) ?? "not running"})`).join(", ");
      throw new DeployError(`not healthy within ${Math.round(opts.timeoutMs / 1000)}s: ${names}`, {
        hint: tail ? `last log lines of ${first?.name}:\n${tail.split("\n").map((l) => `    ${l}`).join("\n")}` : "raise deploy.health_timeout if the service needs longer to start",
      });
    }
    await Bun.sleep(opts.pollMs ?? 200);
  }
}

/**
 * Uptime is counted on Konta's own monotonic clock from when the gate first saw this start of the
 * container, not from the engine's StartedAt: a clock that jumps, or an engine on another host with
 * another clock, would pass or fail min_uptime by the skew.
 */
async function verdict(docker: DockerClient, e: GateEntry, restarts: Map<string, number>, seen: Map<string, { startedAt: string; at: number }>, minUptimeMs: number): Promise<Verdict> {
  const c = await inspectContainer(docker, e.id);
  if (!c) return { done: true, ok: false, why: "the container disappeared" };
  if (!restarts.has(e.id)) restarts.set(e.id, c.RestartCount);
  const now = performance.now();
  let first = seen.get(e.id);
  if (first?.startedAt !== c.State.StartedAt) seen.set(e.id, (first = { startedAt: c.State.StartedAt, at: now }));
  return gateVerdict(c, restarts.get(e.id) as number, e.oneShot, minUptimeMs, now - first.at);
}

/**
 * The gate's rule for one container, pure: a restart since the gate began or a restart loop fails
 * it; a one-shot job that exited 0 passes; a healthcheck decides when there is one, else staying up
 * for `minUptimeMs`.
 */
export function gateVerdict(
  c: Pick<NonNullable<Awaited<ReturnType<typeof inspectContainer>>>, "RestartCount" | "State">,
  restartsAtStart: number,
  oneShot: boolean,
  minUptimeMs: number,
  /** how long the gate has seen this start of the container running */
  upMs: number,
): Verdict {
  if (c.RestartCount > restartsAtStart) return { done: true, ok: false, why: `restarting in a loop (restarted ${c.RestartCount - restartsAtStart} times, last exit code ${c.State.ExitCode})` };
  const s = c.State;
  if (s.Restarting) return { done: true, ok: false, why: `restarting in a loop (last exit code ${s.ExitCode})` };
  if (!s.Running) {
    if (s.Status === "exited" && s.ExitCode === 0 && oneShot) return { done: true, ok: true };
    if (s.Status === "created") return { done: false, why: "not started yet" };
    return { done: true, ok: false, why: `exited with code ${s.ExitCode}${s.Error ? ` (${s.Error})` : ""}` };
  }
  if (s.Health && s.Health.Status !== "none") {
    if (s.Health.Status === "healthy") return { done: true, ok: true };
    if (s.Health.Status === "unhealthy") {
      const out = s.Health.Log?.at(-1)?.Output?.trim();
      return { done: true, ok: false, why: `unhealthy${out ? `: ${out.split("\n")[0]}` : ""}` };
    }
    return { done: false, why: `health: ${s.Health.Status}` };
  }
  return upMs >= minUptimeMs ? { done: true, ok: true } : { done: false, why: "running" };
}
