// "port is already allocated" when a container starts has two causes. Another container publishes
// the port: the configuration's problem, named so it can be fixed. Or no container does and the
// engine holds the port anyway: Docker leaks the allocation when the host goes down while a
// container is being started or removed (seen with Debian 12's 20.10 after power cuts), and only an
// engine restart frees it. That is not the commit's fault, so it is an engine fault (exit 3): not
// remembered as failed, not rolled back (the previous release needs the same port), reported once.
import { DeployError, UnreachableError } from "../base/errors.ts";
import { bindingsClash } from "../compose/ports.ts";
import type { DockerClient } from "./client.ts";
import { EngineError } from "./client.ts";

/** The fields of GET /containers/json this reads (engine.ts's ContainerSummary has them). */
export interface RunningContainer {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  Ports?: { IP?: string; PublicPort?: number }[];
}

export interface PortConflict {
  /** "127.0.0.1:18080" */
  binding: string;
  /** the other containers that publish it, "name (project p)" or "name (not managed by Konta)" */
  holders: string[];
}

/** The host binding a refused start names ("127.0.0.1:18080"), or undefined when the error is another one. */
export function refusedBinding(engineMessage: string): string | undefined {
  const m = /Bind for (.+:\d+) failed: port is already allocated/.exec(engineMessage);
  return m?.[1];
}

/** Which running containers (besides `self`) publish `binding`. */
export function portConflict(binding: string, self: string, running: RunningContainer[]): PortConflict {
  // the engine's message names no protocol: a holder of either protocol on the port counts
  const wanted = `${binding}/any`;
  const holders = running
    .filter((c) => c.Id !== self && (c.Ports ?? []).some((p) => p.PublicPort !== undefined && bindingsClash(`${p.IP ?? ""}:${p.PublicPort}/any`, wanted)))
    .map((c) => {
      const name = (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, "");
      const project = c.Labels["com.docker.compose.project"];
      return c.Labels["konta.managed"] === "true" && project ? `${name} (project ${project})` : `${name} (not managed by Konta)`;
    });
  return { binding, holders };
}

/** The error to report for a failed start: a port conflict explained, anything else as it was. */
export async function explainStartFailure(docker: DockerClient, id: string, name: string, err: unknown): Promise<unknown> {
  const binding = err instanceof EngineError ? refusedBinding(err.engineMessage) : undefined;
  if (!binding) return err;
  let running: RunningContainer[];
  try {
    running = await docker.request<RunningContainer[]>("GET", "/containers/json");
  } catch {
    return err;
  }
  const { holders } = portConflict(binding, id, running);
  if (holders.length) {
    return new DeployError(`start container ${name}: ${binding} is already published by ${holders.join(", ")}`, {
      hint: "give one of them another host port, or stop the other container",
    });
  }
  return new StalePortError(name, binding);
}

export class StalePortError extends UnreachableError {
  constructor(
    readonly container: string,
    readonly binding: string,
  ) {
    super(`start container ${container}: the Docker engine holds ${binding} although no container publishes it (an allocation it kept from a container that was starting or being removed when the host went down)`, {
      hint: "restart the Docker engine to free it (systemctl restart docker); the commit is not blamed, and the next run deploys it",
    });
  }
}
