// A command run in a running container (POST /containers/{id}/exec), as Compose runs post_start and
// pre_stop hooks: its output collected, its exit code read once it ends.
import type { LifecycleHook } from "../compose/model.ts";
import type { DockerClient } from "./client.ts";

/** What to run: a lifecycle hook's fields are exactly the exec's. */
export type ExecSpec = LifecycleHook;

export interface ExecResult {
  /** undefined: still running when `timeoutMs` passed */
  exitCode: number | undefined;
  /** the last lines of stdout and stderr together */
  output: string;
}

const KEEP_CHARS = 4096;

/** Run `spec` in container `id` and wait for it (at most `timeoutMs`). */
export async function execIn(docker: DockerClient, id: string, spec: ExecSpec, timeoutMs: number): Promise<ExecResult> {
  const { Id } = await docker.request<{ Id: string }>("POST", `/containers/${id}/exec`, {
    body: {
      Cmd: spec.command,
      AttachStdout: true,
      AttachStderr: true,
      ...(spec.user ? { User: spec.user } : {}),
      ...(spec.privileged ? { Privileged: true } : {}),
      ...(spec.working_dir ? { WorkingDir: spec.working_dir } : {}),
      ...(spec.environment ? { Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`) } : {}),
    },
    what: `exec in ${id.slice(0, 12)}`,
  });
  const stream = await docker.stream("POST", `/exec/${Id}/start`, { body: { Detach: false, Tty: false }, timeoutMs, what: `exec in ${id.slice(0, 12)}` });
  const frames = new Frames();
  const reader = stream.getReader();
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      frames.push(value);
    }
  } catch {
    // cancelled at the timeout, or the engine went away: the inspect below tells which
  } finally {
    clearTimeout(timer);
  }
  const state = await docker.request<{ Running: boolean; ExitCode: number }>("GET", `/exec/${Id}/json`, { what: `exec in ${id.slice(0, 12)}` });
  return { exitCode: state.Running ? undefined : state.ExitCode, output: frames.text.trim() };
}

/** The engine's multiplexed stream (an 8-byte header before each chunk of stdout or stderr), its text's tail kept. */
class Frames {
  text = "";
  private pending = Buffer.alloc(0);

  push(chunk: Uint8Array): void {
    this.pending = Buffer.concat([this.pending, Buffer.from(chunk)]);
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) return;
      this.text = (this.text + this.pending.subarray(8, 8 + size).toString("utf8")).slice(-KEEP_CHARS);
      this.pending = this.pending.subarray(8 + size);
    }
  }
}
