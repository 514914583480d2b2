// Typed Engine API calls for containers, networks and volumes (the parts Konta uses).
import { log } from "../base/log.ts";
import type { DockerClient } from "./client.ts";
import { EngineError } from "./client.ts";

export type Labels = Record<string, string>;

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Labels: Labels;
  State: string;
  Status: string;
  Created: number;
  Mounts?: { Type: string; Source: string; Destination: string }[];
  NetworkSettings?: { Networks?: Record<string, unknown> };
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    Restarting: boolean;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Error?: string;
    Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] };
  };
  Config: { Labels: Labels; Image: string; Healthcheck?: { Test?: string[] } };
  HostConfig: Record<string, unknown> & { RestartPolicy?: { Name: string } };
  Mounts: { Type: string; Source: string; Destination: string; Name?: string }[];
  NetworkSettings: { Networks: Record<string, { NetworkID: string; IPAddress: string; Aliases: string[] | null }> };
}

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Labels | null;
  Containers?: Record<string, unknown>;
}

export interface VolumeSummary {
  Name: string;
  Driver: string;
  Labels: Labels | null;
  Mountpoint: string;
}

const filters = (f: Record<string, string[]>) => JSON.stringify(f);

export function listContainers(docker: DockerClient, labels: string[]): Promise<ContainerSummary[]> {
  return docker.request("GET", "/containers/json", { query: { all: 1, filters: filters({ label: labels }) } });
}

/** Inspect, or undefined when the container is gone. */
export async function inspectContainer(docker: DockerClient, id: string): Promise<ContainerInspect | undefined> {
  try {
    return await docker.request<ContainerInspect>("GET", `/containers/${encodeURIComponent(id)}/json`);
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return undefined;
    throw err;
  }
}

export async function createContainer(docker: DockerClient, name: string, body: object, platform?: string): Promise<string> {
  const res = await docker.request<{ Id: string; Warnings?: string[] }>("POST", "/containers/create", {
    query: { name, ...(platform ? { platform } : {}) },
    body,
    what: `create container ${name}`,
  });
  // e.g. a limit this kernel cannot apply: the engine accepts the container but drops the setting
  for (const w of res.Warnings ?? []) log.warn(`${name}: Docker: ${w}`);
  return res.Id;
}

export async function startContainer(docker: DockerClient, id: string, name: string): Promise<void> {
  try {
    await docker.request("POST", `/containers/${id}/start`, { what: `start container ${name}` });
  } catch (err) {
    if (err instanceof EngineError && err.status === 304) return; // already running
    // loaded only when a start fails: the idle path stays small
    throw await (await import("./port-conflict.ts")).explainStartFailure(docker, id, name, err);
  }
}

export async function stopContainer(docker: DockerClient, id: string, name: string, timeoutSeconds: number, signal?: string): Promise<void> {
  docker.stopping.add(id);
  try {
    await docker.request("POST", `/containers/${id}/stop`, {
      query: { t: timeoutSeconds, ...(signal && docker.atLeast("1.42") ? { signal } : {}) },
      what: `stop container ${name}`,
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
  } catch (err) {
    if (err instanceof EngineError && (err.status === 304 || err.status === 404)) return;
    throw err;
  }
}

/** Remove a container; its anonymous volumes are kept (v=0), like every volume. */
export async function removeContainer(docker: DockerClient, id: string, name: string): Promise<void> {
  try {
    await docker.request("DELETE", `/containers/${id}`, { query: { force: 1, v: 0 }, what: `remove container ${name}` });
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return;
    throw err;
  }
}

export async function renameContainer(docker: DockerClient, id: string, name: string): Promise<void> {
  await docker.request("POST", `/containers/${id}/rename`, { query: { name }, what: `rename container to ${name}` });
}

export async function connectNetwork(docker: DockerClient, network: string, container: string, endpoint: object): Promise<void> {
  await docker.request("POST", `/networks/${encodeURIComponent(network)}/connect`, {
    body: { Container: container, EndpointConfig: endpoint },
    what: `connect ${container.slice(0, 12)} to network ${network}`,
  });
}

export async function disconnectNetwork(docker: DockerClient, network: string, container: string): Promise<void> {
  try {
    await docker.request("POST", `/networks/${encodeURIComponent(network)}/disconnect`, {
      body: { Container: container, Force: true },
      what: `disconnect ${container.slice(0, 12)} from network ${network}`,
    });
  } catch (err) {
    if (err instanceof EngineError && (err.status === 404 || err.status === 403)) return;
    throw err;
  }
}

export function listNetworks(docker: DockerClient, labels: string[]): Promise<NetworkSummary[]> {
  return docker.request("GET", "/networks", { query: { filters: filters({ label: labels }) } });
}

export async function inspectNetwork(docker: DockerClient, name: string): Promise<NetworkSummary | undefined> {
  try {
    return await docker.request<NetworkSummary>("GET", `/networks/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return undefined;
    throw err;
  }
}

export async function createNetwork(docker: DockerClient, body: { Name: string } & Record<string, unknown>): Promise<string> {
  const res = await docker.request<{ Id: string }>("POST", "/networks/create", { body: { CheckDuplicate: true, ...body }, what: `create network ${body.Name}` });
  return res.Id;
}

export async function removeNetwork(docker: DockerClient, id: string, name: string): Promise<void> {
  try {
    await docker.request("DELETE", `/networks/${encodeURIComponent(id)}`, { what: `remove network ${name}` });
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return;
    throw err;
  }
}

export async function listVolumes(docker: DockerClient, labels: string[]): Promise<VolumeSummary[]> {
  const res = await docker.request<{ Volumes: VolumeSummary[] | null }>("GET", "/volumes", { query: { filters: filters({ label: labels }) } });
  return res.Volumes ?? [];
}

export async function createVolume(docker: DockerClient, body: { Name: string } & Record<string, unknown>): Promise<void> {
  await docker.request("POST", "/volumes/create", { body, what: `create volume ${body.Name}` });
}
