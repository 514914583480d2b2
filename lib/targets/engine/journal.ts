// The names an engine apply is about to create, written before each create request. The engine
// carries out a request whose client died (a SIGKILL, a systemd stop timeout, an OOM kill): a
// create in flight lands after the next run has looked, under a name the next run's observation
// never showed. The next run reads what the dead run was creating and waits for each such create
// to land or to be gone before it observes, so its plan sees the leftover and removes it first.
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { UnreachableError } from "../../base/errors.ts";
import { LABEL } from "../../base/labels.ts";
import { log } from "../../base/log.ts";
import { type DockerClient, EngineError } from "../../docker/client.ts";
import { createContainer, inspectContainer, removeContainer } from "../../docker/engine.ts";

export interface Intent {
  /** the container name asked for */
  name: string;
  /** the image of the create (a probe of the name needs one that is on this host) */
  image: string;
}

export class EngineJournal {
  constructor(readonly path: string) {}

  /**
   * Before a create: one line, not synced. A killed process keeps its writes in the page cache; a
   * power cut ends the engine's requests as well, so nothing is left in flight then.
   */
  intend(intent: Intent): void {
    appendFileSync(this.path, `${JSON.stringify(intent)}\n`, { mode: 0o600 });
  }

  read(): Intent[] {
    if (!existsSync(this.path)) return [];
    const out: Intent[] = [];
    // a line cut short by the kill is a create that was never sent
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      try {
        const i = JSON.parse(line) as Intent;
        if (typeof i.name === "string" && typeof i.image === "string") out.push(i);
      } catch {}
    }
    return out;
  }

  /** Every request of this run has been answered. */
  clear(): void {
    rmSync(this.path, { force: true });
  }
}

/** The ID a 409 names: `Conflict. The container name "/x" is already in use by container "<id>"`. */
export function conflictHolder(err: unknown): string | undefined {
  if (!(err instanceof EngineError) || err.status !== 409) return undefined;
  return /in use by container "?([0-9a-f]{12,64})/.exec(err.engineMessage)?.[1];
}

export interface SettleOptions {
  /** how long a create the dead run left in flight may take to land */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Before observing: the creates a dead run left in the journal have landed (their containers are
 * then in the listing) or were never carried out. A create the engine is still working on holds
 * its name without being listed or inspectable, so the name is probed with a create of our own:
 * 409 names the holder, which is waited for; a created probe means the name is free, and it is
 * removed at once. Returns the names that were still in flight or had landed.
 */
export async function settleInterrupted(docker: DockerClient, journal: EngineJournal, opts: SettleOptions = {}): Promise<string[]> {
  const intents = journal.read();
  if (!intents.length) return [];
  log.warn(`the last run was interrupted while it changed containers; settling what it left (${intents.map((i) => i.name).join(", ")})`);
  const left: string[] = [];
  for (const intent of new Map(intents.map((i) => [i.name, i])).values()) {
    if (await settleName(docker, intent, opts)) left.push(intent.name);
  }
  journal.clear();
  return left;
}

async function settleName(docker: DockerClient, intent: Intent, opts: SettleOptions): Promise<boolean> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const held = await inspectContainer(docker, intent.name);
    if (held) {
      // a probe of a run killed in the middle of this very settling
      if (held.Config.Labels?.[LABEL.probe] !== "true") return true;
      await removeContainer(docker, held.Id, intent.name);
      continue;
    }
    let probe: string;
    try {
      probe = await createContainer(docker, intent.name, { Image: intent.image, Labels: { [LABEL.probe]: "true" }, Cmd: ["true"] });
    } catch (err) {
      const holder = conflictHolder(err);
      // the image is gone: the dead run's create cannot have been carried out either
      if (!holder && err instanceof EngineError && err.status === 404) return false;
      if (!holder) throw err;
      await stillCreating(intent.name, holder, deadline, opts);
      continue;
    }
    await removeContainer(docker, probe, intent.name);
    return false;
  }
}

/** A create the engine has not finished holds `name`: wait a little, or give up at the deadline. */
async function stillCreating(name: string, holder: string, deadline: number, opts: SettleOptions): Promise<void> {
  if (Date.now() > deadline) {
    throw new UnreachableError(`the Docker engine is still creating container ${name} (${holder.slice(0, 12)}) for a run that was killed`, {
      hint: "the next run tries again; if it stays so, look at the engine: journalctl -u docker",
    });
  }
  await Bun.sleep(opts.pollMs ?? 200);
}

/**
 * Make `request` (a create or a rename to `name`) succeed when the name is held by a container
 * `ours` claims by its labels: one an interrupted run left, or is still having created (the
 * engine answers 409 before it lists the container: it is waited for). Anyone else's container
 * keeps the name and the engine's answer is the error.
 */
export async function claimName<T>(docker: DockerClient, name: string, ours: (labels: Record<string, string>) => boolean, request: () => Promise<T>, opts: SettleOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    try {
      return await request();
    } catch (err) {
      const holder = conflictHolder(err);
      if (!holder) throw err;
      const held = await inspectContainer(docker, holder);
      if (held) {
        const labels = held.Config.Labels ?? {};
        if (!ours(labels) && labels[LABEL.probe] !== "true") throw err;
        log.warn(`${name}: held by ${holder.slice(0, 12)}, left by an interrupted run; removing it`);
        await removeContainer(docker, holder, name);
      } else {
        await stillCreating(name, holder, deadline, opts);
      }
    }
  }
}
