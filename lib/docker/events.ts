// Telling "the engine went away" from "the service failed". When dockerd stops (a restart, an
// upgrade, a reboot) it first signals every container and waits for them, and only then closes
// its API: a health gate sees containers exit and would blame the commit. The engine's /events
// stream shows both halves: a `kill` that Konta did not ask for, then the end of the stream
// when the engine process goes away.
import { type DockerClient, readJsonStream } from "./client.ts";

/** How long a signalled shutdown may take before the stream ends (dockerd's default stop timeout, and margin). */
const SHUTDOWN_GRACE_MS = 30_000;
/** Without a foreign kill, a failure is the engine's only if the stream has (nearly) ended already. */
const GRACE_MS = 1_000;

export class EngineWatch {
  private ended = false;
  /** containers signalled by someone else than Konta (the engine shutting down, `docker stop`) */
  private readonly foreignKills = new Set<string>();
  private readonly done: Promise<void>;
  private readonly abort = new AbortController();

  private constructor(private readonly docker: DockerClient) {
    this.done = this.follow();
  }

  private async follow(): Promise<void> {
    try {
      const body = await this.docker.events({ type: ["container"], event: ["kill"] }, this.abort.signal);
      await readJsonStream(body, (e) => {
        const id = (e as { Actor?: { ID?: string } }).Actor?.ID;
        if (id && !this.docker.stopping.has(id)) this.foreignKills.add(id);
      });
    } catch {
      // a broken stream is an ended one
    }
    if (!this.abort.signal.aborted) this.ended = true;
  }

  static start(docker: DockerClient): EngineWatch {
    return new EngineWatch(docker);
  }

  /** True when the engine went away since start(), waiting as long as a signalled shutdown may take. */
  async lost(): Promise<boolean> {
    if (!this.ended) await Promise.race([this.done, Bun.sleep(this.foreignKills.size ? SHUTDOWN_GRACE_MS : GRACE_MS)]);
    return this.ended;
  }

  stop(): void {
    this.abort.abort();
  }
}
