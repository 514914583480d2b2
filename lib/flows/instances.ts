// Every Konta instance of this server at a glance (`konta status --all`), and the ownership check
// that keeps two instances from taking the same project, container name or host port. Read-only:
// another instance's config and state.json are read, never its lock.
import { readlinkSync } from "node:fs";
import { basename } from "node:path";
import { errorMessage } from "../base/errors.ts";
import { type Family, type InstanceRef, instanceLabel, listInstances, timerUnit } from "../base/instances.ts";
import { statePaths } from "../base/paths.ts";
import { loadConfig } from "../config/index.ts";
import { redact } from "../base/redact.ts";
import { type ProjectExpectation, peekState } from "../state/index.ts";
import type { LoadedProject } from "../compose/index.ts";
import { bindingsClash, hostBindings } from "../compose/ports.ts";
import { InputError } from "../base/errors.ts";

export interface InstanceOverview {
  name: string;
  config: string;
  stateDir: string;
  timer: string;
  repository?: { url: string; branch: string; path: string };
  live?: string;
  held?: string;
  failed?: { sha: string; error: string };
  lastAttempt?: { at: string; result: string };
  projects: string[];
  /** the config does not load */
  error?: string;
}

function liveRelease(stateDir: string): string | undefined {
  try {
    return basename(readlinkSync(statePaths(stateDir).current));
  } catch {
    return undefined;
  }
}

export async function instancesOverview(family: Family): Promise<InstanceOverview[]> {
  const out: InstanceOverview[] = [];
  for (const ref of listInstances(family)) {
    const o: InstanceOverview = { name: instanceLabel(ref), config: ref.config, stateDir: ref.stateDir, timer: timerUnit(ref), projects: [] };
    try {
      const c = await loadConfig(ref.config);
      o.repository = { url: redact(c.repository.url), branch: c.repository.branch, path: c.repository.path };
    } catch (err) {
      o.error = errorMessage(err);
    }
    const state = peekState(statePaths(ref.stateDir).state);
    if (state) {
      o.projects = Object.keys(state.expected).sort();
      if (state.hold) o.held = state.hold.sha;
      if (state.failed) o.failed = { sha: state.failed.sha, error: state.failed.error };
      if (state.lastAttempt) o.lastAttempt = { at: state.lastAttempt.at, result: state.lastAttempt.result };
    }
    const live = liveRelease(ref.stateDir);
    if (live) o.live = live;
    out.push(o);
  }
  return out;
}

/** What one instance owns on the engine, from what its state remembers of its live release. */
export interface Claims {
  instance: InstanceRef;
  expected: Record<string, ProjectExpectation>;
}

/** The other instances of the family and what they own now. */
export function otherClaims(family: Family, self: InstanceRef): Claims[] {
  return listInstances(family)
    .filter((i) => i.config !== self.config && i.stateDir !== self.stateDir)
    .flatMap((instance) => {
      const state = peekState(statePaths(instance.stateDir).state);
      return state ? [{ instance, expected: state.expected }] : [];
    });
}

const who = (i: InstanceRef) => `instance "${instanceLabel(i)}" (${i.config})`;

/**
 * What in a release another instance already owns: a project name, a container name, a host port.
 * Each conflict names both instances and the file of ours; nothing has changed when this runs.
 */
export function findConflicts(self: InstanceRef, projects: LoadedProject[], others: Claims[]): string[] {
  const out: string[] = [];
  for (const p of projects) {
    const file = `apps/${basename(p.dir)}/${p.files[0] ?? "docker-compose.yml"}`;
    for (const o of others) {
      if (o.expected[p.name]) out.push(`${file}: project "${p.name}" is deployed by ${who(o.instance)}; ${who(self)} cannot take it`);
      for (const s of Object.values(p.services)) {
        if (!s.managed) continue;
        for (const [project, exp] of Object.entries(o.expected)) {
          for (const [service, t] of Object.entries(exp.services)) {
            if (s.container_name && t.containerName === s.container_name) out.push(`${file}: ${s.name}: container_name "${s.container_name}" is ${project}/${service}'s of ${who(o.instance)}`);
            for (const mine of hostBindings(s.ports)) {
              const theirs = (t.hostPorts ?? []).find((x) => bindingsClash(mine, x));
              if (theirs) out.push(`${file}: ${s.name}: host port ${mine.replace(/^:/, "")} is held by ${project}/${service} of ${who(o.instance)} (${theirs.replace(/^:/, "")})`);
            }
          }
        }
      }
    }
  }
  return [...new Set(out)];
}

/** Refuse a release that takes what another instance owns (exit 2), before anything changes. */
export function checkOwnership(self: InstanceRef, family: Family, projects: LoadedProject[]): void {
  const conflicts = findConflicts(self, projects, otherClaims(family, self));
  if (conflicts.length) {
    throw new InputError(`${who(self)} conflicts with another instance on this server:\n  ${conflicts.join("\n  ")}`, {
      hint: "rename the project (its folder under apps/), the container_name or the host port in one of the two repositories; the other instance keeps running",
    });
  }
}
