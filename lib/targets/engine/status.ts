// `konta status` on the engine: every managed service of the live release with its containers
// (state, health, uptime), and drift. One listing; with `inspect`, each container's start time.
import type { DockerClient } from "../../docker/client.ts";
import { inspectContainer } from "../../docker/engine.ts";
import { collate } from "../../base/collate.ts";
import type { ProjectExpectation } from "../../state/index.ts";
import type { ContainerStatus, DriftOptions, ServiceStatus, StatusOptions, TargetStatus } from "../types.ts";
import { detectDrift } from "./drift.ts";
import { observeContainers } from "./observe.ts";

export async function engineStatus(docker: DockerClient, expected: Record<string, ProjectExpectation>, driftOpts: DriftOptions, opts: StatusOptions): Promise<TargetStatus> {
  const containers = await observeContainers(docker);
  const out: TargetStatus = { projects: [], drift: detectDrift(expected, containers, driftOpts) };
  for (const [project, exp] of Object.entries(expected).sort(([a], [b]) => collate(a, b))) {
    const services: ServiceStatus[] = [];
    for (const [name, target] of Object.entries(exp.services).sort(([a], [b]) => collate(a, b))) {
      const mine = containers.filter((c) => c.project === project && c.service === name && c.managed).sort((a, b) => a.number - b.number);
      const details = await Promise.all(
        mine.map(async (c): Promise<ContainerStatus> => {
          const listed = { name: c.name, state: c.state, ...(c.health ? { health: c.health } : {}), status: c.status };
          if (opts.inspect === false) return listed;
          const info = await inspectContainer(docker, c.id);
          const startedAt = info?.State.Running ? info.State.StartedAt : undefined;
          return {
            ...listed,
            ...(info?.State.Health ? { health: info.State.Health.Status } : {}),
            ...(startedAt ? { startedAt, uptimeSeconds: Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) } : {}),
          };
        }),
      );
      services.push({ name, image: target.image, replicas: target.replicas, stopped: target.stopped, ...(target.job ? { job: true } : {}), containers: details });
    }
    out.projects.push({ name: project, services });
  }
  return out;
}
