// "Converged": a project has exactly one running container per expected service (no leftover
// temporary or duplicate), each running the expected version, and the release store is clean.
import { expect } from "bun:test";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { type ContainerInfo, projectContainers } from "./docker.ts";
import type { KontaEnv } from "./konta.ts";

export function envOf(c: ContainerInfo, name: string): string | undefined {
  return c.Config.Env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** `services`: service name -> expected value of its VERSION variable. */
export async function expectConverged(project: string, services: Record<string, string>): Promise<void> {
  const containers = await projectContainers(project);
  expect([...containers.keys()].sort()).toEqual(Object.keys(services).map((s) => `${project}-${s}-1`).sort());
  for (const [service, version] of Object.entries(services)) {
    const c = containers.get(`${project}-${service}-1`) as ContainerInfo;
    expect({ service, running: c.State.Running, version: envOf(c, "VERSION") }).toEqual({ service, running: true, version });
  }
}

/** No half-written release, `current` points at an existing release of `sha`, state agrees. */
export function expectStoreClean(env: KontaEnv, sha: string): void {
  const releases = join(env.state, "releases");
  expect(readdirSync(releases).filter((n) => n.startsWith(".tmp"))).toEqual([]);
  const current = readlinkSync(join(env.state, "current"));
  expect(basename(current)).toBe(sha);
  expect(existsSync(join(env.state, "current", "apps"))).toBe(true);
  const state = env.readState();
  expect(state.current.sha).toBe(sha);
}
