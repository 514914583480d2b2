// Telling "the engine went away" from "the service failed". When dockerd stops (a restart, an
// upgrade, a reboot) it stops every container first, so a health gate sees them exit and would
// blame the commit. An open /events stream ends exactly when the engine process goes away: a gate
// failure while (or just before) that happens is the engine's, not the commit's.
import type { DockerClient } from "./client.ts";

export class EngineWatch {
  private ended = false;
  private readonly done: Promise<void>;
  private readonly abort = new AbortController();

  private constructor(docker: DockerClient) {
    this.done = (async () => {
      try {
        // daemon events are rare (a reload): the stream stays quiet until it ends
        const body = await docker.events({ type: ["daemon"] }, this.abort.signal);
        for await (const _ of body as unknown as AsyncIterable<Uint8Array>) {
          // nothing to read: only the end matters
        }
      } catch {
        // a broken stream is an ended one
      }
      if (!this.abort.signal.aborted) this.ended = true;
    })();
  }

  static start(docker: DockerClient): EngineWatch {
    return new EngineWatch(docker);
  }

  /** True when the engine went away since start(); waits up to `graceMs` for the stream to end. */
  async lost(graceMs = 2000): Promise<boolean> {
    if (!this.ended) await Promise.race([this.done, Bun.sleep(graceMs)]);
    return this.ended;
  }

  stop(): void {
    this.abort.abort();
  }
}
