// `konta status` on a swarm: every managed service of the live release with its tasks and the
// node each runs on, and the nodes themselves (a worker down shows here, with its tasks moved).
import type { DockerClient } from "../../docker/client.ts";
import type { ProjectExpectation } from "../../state/index.ts";
import type { NodeStatus } from "../types.ts";
import { STACK_NAMESPACE } from "./spec.ts";
import { collate } from "../../base/collate.ts";

export interface TaskStatus {
  name: string;
  state: string;
  node: string;
  startedAt?: string;
  uptimeSeconds?: number;
  error?: string;
}

export interface SwarmServiceStatus {
  name: string;
  image: string;
  /** tasks the service asks for (a global service: one per eligible node) */
  desired: number;
  stopped: boolean;
  /** a job (replicated-job, global-job): its tasks completed so far */
  completed?: number;
  tasks: TaskStatus[];
}


interface EngineTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  Status: { State: string; Timestamp?: string; Err?: string };
}

interface EngineNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec: { Role: string; Availability: string };
  Status: { State: string };
  ManagerStatus?: { Leader?: boolean };
}

interface EngineService {
  ID: string;
  Spec: { Name: string; Mode: Record<string, unknown> };
  ServiceStatus?: { DesiredTasks: number; CompletedTasks?: number };
}

export async function swarmStatus(docker: DockerClient, expected: Record<string, ProjectExpectation>): Promise<{ projects: { name: string; services: SwarmServiceStatus[] }[]; nodes: NodeStatus[] }> {
  const [services, tasks, nodes] = await Promise.all([
    docker.request<EngineService[]>("GET", "/services", { query: { status: true, filters: JSON.stringify({ label: [STACK_NAMESPACE] }) }, what: "list services" }),
    docker.request<EngineTask[]>("GET", "/tasks", { query: { filters: JSON.stringify({ "desired-state": ["running"] }) }, what: "list tasks" }),
    docker.request<EngineNode[]>("GET", "/nodes", { what: "list nodes" }),
  ]);
  const hostname = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
  const projects = Object.entries(expected)
    .sort(([a], [b]) => collate(a, b))
    .map(([project, exp]) => ({
      name: project,
      services: Object.entries(exp.services)
        .sort(([a], [b]) => collate(a, b))
        .map(([name, t]): SwarmServiceStatus => {
          const full = `${project}_${name}`;
          const svc = services.find((s) => s.Spec.Name === full);
          const mine = svc ? tasks.filter((x) => x.ServiceID === svc.ID) : [];
          const mode = svc?.Spec.Mode ?? {};
          const job = "ReplicatedJob" in mode || "GlobalJob" in mode;
          const total = (mode.ReplicatedJob as { TotalCompletions?: number } | undefined)?.TotalCompletions;
          return {
            name,
            image: t.image,
            desired: job && total !== undefined ? total : (svc?.ServiceStatus?.DesiredTasks ?? t.replicas),
            stopped: t.stopped,
            ...(job ? { completed: svc?.ServiceStatus?.CompletedTasks ?? 0 } : {}),
            tasks: mine
              .map((x): TaskStatus => {
                const running = x.Status.State === "running" && x.Status.Timestamp;
                return {
                  name: `${full}.${x.Slot ?? x.NodeID?.slice(0, 12) ?? x.ID.slice(0, 12)}`,
                  state: x.Status.State,
                  node: x.NodeID ? (hostname.get(x.NodeID) ?? x.NodeID.slice(0, 12)) : "(not scheduled)",
                  ...(running ? { startedAt: x.Status.Timestamp, uptimeSeconds: Math.max(0, Math.round((Date.now() - Date.parse(x.Status.Timestamp as string)) / 1000)) } : {}),
                  ...(x.Status.Err ? { error: x.Status.Err } : {}),
                };
              })
              .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })),
          };
        }),
    }));
  const nodeList = nodes
    .map((n): NodeStatus => ({ name: hostname.get(n.ID) as string, role: n.Spec.Role, state: n.Status.State, availability: n.Spec.Availability, ...(n.ManagerStatus?.Leader ? { leader: true } : {}) }))
    .sort((a, b) => collate(a.name, b.name));
  return { projects, nodes: nodeList };
}
