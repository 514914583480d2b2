// What the engine has now, read in three GET requests (containers, networks, volumes) and
// shaped for planning.
import type { DockerClient } from "../../docker/client.ts";
import { listContainers, listNetworks, listVolumes, type ContainerSummary, type NetworkSummary, type VolumeSummary } from "../../docker/engine.ts";
import { LABEL } from "../../base/labels.ts";
import { isKontaCreated, isManaged } from "./labels.ts";

export interface ObservedContainer {
  id: string;
  name: string;
  project?: string;
  service?: string;
  number: number;
  hash?: string;
  imageId: string;
  /** running, exited, created, restarting, paused, dead */
  state: string;
  exitCode?: number;
  /** the healthcheck's verdict as the engine's listing says it: healthy, unhealthy, starting */
  health?: string;
  /** the engine's words: "Up 3 hours (healthy)", "Exited (1) 2 minutes ago" */
  status?: string;
  managed: boolean;
  kontaCreated: boolean;
  commit?: string;
  labels: Record<string, string>;
  created: number;
  /** host paths of its bind mounts (to keep releases a container still uses) */
  binds: string[];
  /** networks it is attached to */
  networks: string[];
  /** host ports it holds while running, "port/protocol" */
  hostPorts: string[];
}

export interface Observed {
  /** every container on the host (names must not collide with ones Konta does not manage) */
  containers: ObservedContainer[];
  networks: Map<string, NetworkSummary>;
  volumes: Map<string, VolumeSummary>;
}

export function toObserved(c: ContainerSummary): ObservedContainer {
  const labels = c.Labels ?? {};
  const exit = /Exited \((-?\d+)\)/.exec(c.Status ?? "");
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status ?? "")?.[1]?.replace("health: ", "");
  return {
    id: c.Id,
    name: (c.Names[0] ?? "").replace(/^\//, ""),
    project: labels[LABEL.project],
    service: labels[LABEL.service],
    number: Number(labels[LABEL.number] ?? Number.NaN),
    hash: labels[LABEL.configHash],
    imageId: c.ImageID,
    state: c.State,
    ...(exit ? { exitCode: Number(exit[1]) } : {}),
    ...(health ? { health } : {}),
    status: c.Status ?? "",
    managed: isManaged(labels),
    kontaCreated: isKontaCreated(labels),
    commit: labels[LABEL.commit],
    labels,
    created: c.Created,
    binds: (c.Mounts ?? []).filter((m) => m.Type === "bind").map((m) => m.Source),
    networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    hostPorts: [...new Set((c.Ports ?? []).flatMap((p) => (p.PublicPort ? [`${p.PublicPort}/${p.Type}`] : [])))],
  };
}

/** Every container, or (for drift, which only concerns managed ones) those labelled konta.managed=true. */
export async function observeContainers(docker: DockerClient, onlyManaged = false): Promise<ObservedContainer[]> {
  return (await listContainers(docker, onlyManaged ? [`${LABEL.managed}=true`] : [])).map(toObserved);
}

export async function observe(docker: DockerClient): Promise<Observed> {
  const [containers, networks, volumes] = await Promise.all([observeContainers(docker), listNetworks(docker, []), listVolumes(docker, [])]);
  return {
    containers,
    networks: new Map(networks.map((n) => [n.Name, n])),
    volumes: new Map(volumes.map((v) => [v.Name, v])),
  };
}

/** The managed, numbered (not one-off) containers of each project's services: project -> service -> containers. */
export function byProjectService(containers: ObservedContainer[]): Map<string, Map<string, ObservedContainer[]>> {
  const out = new Map<string, Map<string, ObservedContainer[]>>();
  for (const c of containers) {
    if (!c.managed || !c.project || !c.service || c.labels[LABEL.oneoff] === "True") continue;
    const services = out.get(c.project) ?? new Map<string, ObservedContainer[]>();
    services.set(c.service, [...(services.get(c.service) ?? []), c]);
    out.set(c.project, services);
  }
  return out;
}

export interface ContainerIndex {
  byProject: Map<string, Map<string, ObservedContainer[]>>;
  byName: Map<string, ObservedContainer>;
}

const indexes = new WeakMap<ObservedContainer[], ContainerIndex>();

/**
 * byProjectService and the containers by name, built once per observation: a release plans every
 * project against the same list (every container on the host), which was 50 rebuilds at 50 apps.
 */
export function containerIndex(containers: ObservedContainer[]): ContainerIndex {
  let index = indexes.get(containers);
  if (!index) {
    index = { byProject: byProjectService(containers), byName: new Map(containers.map((c) => [c.name, c])) };
    indexes.set(containers, index);
  }
  return index;
}
