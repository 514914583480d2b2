// One project as a Swarm stack: what runs (observe), what to change (plan, pure), and doing it
// (apply): overlay networks, configs and secrets versioned by content, services created, updated
// or removed, then a gate until every changed service has converged, and on failure the changed
// services put back to the specs they had. Swarm schedules, restarts and rolls out the tasks; Konta
// brings the release, the plan and the rollback.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BindMount, ProjectModel } from "../compose/model.ts";
import { canonicalJson, sha256 } from "../digest.ts";
import type { DockerClient } from "../docker/client.ts";
import { EngineError } from "../docker/client.ts";
import { registryAuthHeader } from "../docker/credentials.ts";
import { DeployError } from "../errors.ts";
import { LABEL } from "../labels.ts";
import { log, progress } from "../log.ts";
import { networkSpecs, serviceSpec, STACK_NAMESPACE, type SwarmServiceSpec } from "./spec.ts";

/** The label holding the hash of the spec Konta sent (its object IDs left out). */
export const SPEC_HASH = "konta.spec-hash";

export interface ObservedService {
  id: string;
  version: number;
  name: string;
  spec: SwarmServiceSpec;
  hash?: string;
  managed: boolean;
}

export interface StackObject {
  kind: "config" | "secret";
  name: string;
  /** the file in the release */
  file: string;
}

export type ServiceStep =
  | { op: "create"; service: string; spec: SwarmServiceSpec }
  | { op: "update"; service: string; current: ObservedService; spec: SwarmServiceSpec; cause: "spec changed" | "changed by hand" }
  | { op: "remove"; service: string; current: ObservedService };

export interface StackPlan {
  stack: string;
  networks: Record<string, unknown>[];
  objects: StackObject[];
  steps: ServiceStep[];
  unchanged: string[];
}

/** A config or secret of the release, named by its content: a changed file is a new object. */
export function objectName(stack: string, file: BindMount): string {
  const base = file.source.replace(/^\.\//, "").replace(/[^A-Za-z0-9_.-]/g, "-");
  const digest = (file.digest ?? "").replace(/^sha256:/, "").slice(0, 12);
  return `${stack}_${base}`.slice(0, 50).replace(/[^A-Za-z0-9]+$/, "") + `-${digest}`;
}

/** The hash of a spec with object IDs left out (they are the engine's; the names carry the content). */
export function specHash(spec: SwarmServiceSpec): string {
  const cs = spec.TaskTemplate.ContainerSpec as Record<string, unknown>;
  const strip = (refs: unknown) => (refs as Record<string, unknown>[] | undefined)?.map(({ SecretID: _s, ConfigID: _c, ...r }) => r);
  const { [SPEC_HASH]: _h, ...labels } = spec.Labels;
  return sha256(canonicalJson({ ...spec, Labels: labels, TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...cs, Secrets: strip(cs.Secrets), Configs: strip(cs.Configs) } } }));
}

/** The managed services of `stack`'s desired state, each with its hash label; object IDs still to fill in. */
export function desiredSpecs(project: ProjectModel, ids: Map<string, string> = new Map()): Map<string, SwarmServiceSpec> {
  const out = new Map<string, SwarmServiceSpec>();
  for (const s of Object.values(project.services)) {
    if (!s.managed) continue;
    const spec = serviceSpec(project, s, (_kind, file) => {
      const name = objectName(project.name, file);
      return { name, id: ids.get(name) ?? "" };
    });
    spec.Labels[LABEL.managed] = "true";
    spec.Labels[SPEC_HASH] = specHash(spec);
    out.set(s.name, spec);
  }
  return out;
}

function replicas(spec: SwarmServiceSpec): number | undefined {
  return (spec.Mode as { Replicated?: { Replicas?: number } }).Replicated?.Replicas;
}

/** What to do for one stack: pure, from the project and what the engine has. */
export function planStack(project: ProjectModel, observed: ObservedService[], existingNetworks: Set<string>, existingObjects: Set<string>): StackPlan {
  const stack = project.name;
  const desired = desiredSpecs(project);
  const mine = observed.filter((o) => o.spec.Labels?.[STACK_NAMESPACE] === stack);
  const used = new Set(Object.values(project.services).flatMap((s) => (s.managed ? Object.keys(s.networks ?? {}) : [])));
  const objects: StackObject[] = [];
  for (const s of Object.values(project.services)) {
    if (!s.managed) continue;
    for (const [kind, files] of [["secret", s.secrets], ["config", s.configs]] as const) {
      for (const f of files ?? []) {
        const name = objectName(stack, f);
        if (!existingObjects.has(name) && !objects.some((o) => o.name === name)) objects.push({ kind, name, file: join(project.dir, f.source) });
      }
    }
  }
  const plan: StackPlan = { stack, networks: networkSpecs(project, used).filter((n) => !existingNetworks.has(n.Name as string)), objects, steps: [], unchanged: [] };
  for (const [service, spec] of desired) {
    const current = mine.find((o) => o.name === spec.Name);
    if (!current) plan.steps.push({ op: "create", service, spec });
    else if (current.hash !== spec.Labels[SPEC_HASH]) plan.steps.push({ op: "update", service, current, spec, cause: "spec changed" });
    // the spec Konta sent, scaled by hand since (the engine stores a spec with its defaults filled
    // in, so only what a person changes with `docker service scale` is compared)
    else if (replicas(current.spec) !== replicas(spec)) plan.steps.push({ op: "update", service, current, spec, cause: "changed by hand" });
    else plan.unchanged.push(service);
  }
  for (const o of mine) {
    if (o.managed && ![...desired.values()].some((s) => s.Name === o.name)) plan.steps.push({ op: "remove", service: o.name.slice(stack.length + 1), current: o });
  }
  return plan;
}

export function stackHasChanges(p: StackPlan): boolean {
  return p.steps.length > 0 || p.networks.length > 0 || p.objects.length > 0;
}

interface EngineService {
  ID: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  UpdateStatus?: { State?: string; Message?: string };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number };
}

export async function observeServices(docker: DockerClient): Promise<ObservedService[]> {
  const list = await docker.request<EngineService[]>("GET", "/services", { query: { filters: JSON.stringify({ label: [STACK_NAMESPACE] }) }, what: "list services" });
  return list.map((s) => ({
    id: s.ID,
    version: s.Version.Index,
    name: s.Spec.Name,
    spec: s.Spec,
    hash: s.Spec.Labels?.[SPEC_HASH],
    managed: s.Spec.Labels?.[LABEL.managed] === "true",
  }));
}

export interface GateOptions {
  timeoutMs: number;
  pollMs?: number;
}

interface StackObjectInEngine {
  kind: "configs" | "secrets";
  id: string;
  name: string;
  /** created by Konta (docker stack deploy's are left alone) */
  managed: boolean;
}

/** The stack's configs and secrets in the engine. */
async function stackObjects(docker: DockerClient, stack: string): Promise<StackObjectInEngine[]> {
  const filters = JSON.stringify({ label: [`${STACK_NAMESPACE}=${stack}`] });
  const lists = await Promise.all(
    (["configs", "secrets"] as const).map(async (kind) =>
      (await docker.request<{ ID: string; Spec: { Name: string; Labels?: Record<string, string> } }[]>("GET", `/${kind}`, { query: { filters }, what: `list ${kind}` })).map(
        (o): StackObjectInEngine => ({ kind, id: o.ID, name: o.Spec.Name, managed: o.Spec.Labels?.[LABEL.managed] === "true" }),
      ),
    ),
  );
  return lists.flat();
}

/** The names of the stack's networks and its configs and secrets the engine has. */
export async function observeStackObjects(docker: DockerClient, stack: string): Promise<{ networks: Set<string>; objects: Set<string> }> {
  const filters = JSON.stringify({ label: [`${STACK_NAMESPACE}=${stack}`] });
  const [networks, objects] = await Promise.all([docker.request<{ Name: string }[]>("GET", "/networks", { query: { filters }, what: "list networks" }), stackObjects(docker, stack)]);
  return { networks: new Set(networks.map((n) => n.Name)), objects: new Set(objects.map((o) => o.name)) };
}

function authHeaders(spec: SwarmServiceSpec): Record<string, string> {
  // --with-registry-auth: the nodes pull with the manager's credentials for this image
  const auth = registryAuthHeader((spec.TaskTemplate.ContainerSpec as { Image: string }).Image);
  return auth ? { "X-Registry-Auth": auth } : {};
}

async function sendSpec(docker: DockerClient, step: { op: "create" } | { op: "update"; current: ObservedService }, spec: SwarmServiceSpec): Promise<string> {
  if (step.op === "create") {
    const res = await docker.request<{ ID: string }>("POST", "/services/create", { body: spec, headers: authHeaders(spec), what: `create service ${spec.Name}` });
    return res.ID;
  }
  // the version the engine has now: a rollback may follow an update of the same service
  const now = await docker.request<EngineService>("GET", `/services/${step.current.id}`, { what: `inspect service ${spec.Name}` });
  await docker.request("POST", `/services/${step.current.id}/update`, { query: { version: now.Version.Index }, body: spec, headers: authHeaders(spec), what: `update service ${spec.Name}` });
  return step.current.id;
}

/** Wait until every service in `ids` runs the tasks it asks for, its update completed; throws on a failed one or the timeout. */
export async function waitConverged(docker: DockerClient, ids: Map<string, string>, gate: GateOptions): Promise<void> {
  const deadline = Date.now() + gate.timeoutMs;
  const pending = new Map(ids);
  let last = { name: "", id: "", summary: "" };
  while (pending.size) {
    const list = await docker.request<EngineService[]>("GET", "/services", { query: { status: true }, what: "list services" });
    for (const [name, id] of pending) {
      const s = list.find((x) => x.ID === id);
      if (!s) throw new DeployError(`service ${name} disappeared during the deploy`);
      const state = s.UpdateStatus?.State;
      if (state && /paused|rollback/.test(state)) throw new DeployError(`service ${name}: update ${state}${s.UpdateStatus?.Message ? ` (${s.UpdateStatus.Message})` : ""}`);
      const tasks = await docker.request<{ Status: { State: string; Err?: string }; Spec: unknown }[]>("GET", "/tasks", {
        query: { filters: JSON.stringify({ service: [id], "desired-state": ["running"] }) },
        what: `list tasks of ${name}`,
      });
      // right after an update the old tasks still run and the update may not have started: only
      // tasks made from the service's current template count
      const { Runtime: _runtime, ...taskTemplate } = s.Spec.TaskTemplate; // a task's copy leaves it out
      const template = canonicalJson(taskTemplate);
      const current = tasks.filter((t) => canonicalJson(t.Spec) === template);
      const running = current.filter((t) => t.Status.State === "running").length;
      const desired = s.ServiceStatus?.DesiredTasks ?? tasks.length;
      last = { name, id, summary: `${name}: ${running}/${desired} tasks running${state ? `, update ${state}` : ""}` };
      if (state !== "updating" && desired > 0 && running >= desired && tasks.length === running) pending.delete(name);
    }
    if (!pending.size) return;
    if (Date.now() > deadline) {
      // why the last one waiting is not there: the error of a task that failed
      const failing = (
        await docker.request<{ Status: { State: string; Err?: string } }[]>("GET", "/tasks", { query: { filters: JSON.stringify({ service: [last.id], "desired-state": ["shutdown"] }) }, what: `list tasks of ${last.name}` })
      ).find((t) => (t.Status.State === "rejected" || t.Status.State === "failed") && t.Status.Err);
      const why = failing ? ` (last task error: ${failing.Status.Err})` : "";
      throw new DeployError(`not converged within ${Math.round(gate.timeoutMs / 1000)} s: ${last.summary}${why}`, { hint: "see the tasks with: docker service ps <service>" });
    }
    await Bun.sleep(gate.pollMs ?? 500);
  }
}

/**
 * Apply one stack's plan. Throws DeployError when something does not converge, after putting every
 * service it changed back to its previous spec (and removing those it created).
 */
export async function applyStack(docker: DockerClient, project: ProjectModel, plan: StackPlan, gate: GateOptions): Promise<void> {
  for (const n of plan.networks) {
    progress(`${plan.stack}: creating network ${n.Name}`);
    try {
      await docker.request("POST", "/networks/create", { body: n, what: `create network ${n.Name}` });
    } catch (err) {
      if (!(err instanceof EngineError && err.status === 409)) throw err;
    }
  }
  for (const o of plan.objects) {
    progress(`${plan.stack}: creating ${o.kind} ${o.name}`);
    await docker.request("POST", `/${o.kind}s/create`, {
      body: { Name: o.name, Data: readFileSync(o.file).toString("base64"), Labels: { [STACK_NAMESPACE]: plan.stack, [LABEL.managed]: "true" } },
      what: `create ${o.kind} ${o.name}`,
    });
  }
  const specs = desiredSpecs(project, new Map((await stackObjects(docker, plan.stack)).map((o) => [o.name, o.id])));
  const done: ServiceStep[] = [];
  const changed = new Map<string, string>();
  try {
    for (const step of plan.steps) {
      if (step.op === "remove") {
        progress(`${step.current.name}: removing (not in the file any more)`);
        await docker.request("DELETE", `/services/${step.current.id}`, { what: `remove service ${step.current.name}` });
        continue;
      }
      const spec = specs.get(step.service) as SwarmServiceSpec;
      progress(`${spec.Name}: ${step.op === "create" ? "creating" : `updating (${step.cause})`}`);
      changed.set(spec.Name, await sendSpec(docker, step, spec));
      done.push(step);
    }
    await waitConverged(docker, changed, gate);
  } catch (err) {
    log.warn(`${plan.stack}: ${(err as Error).message}; putting back ${done.map((s) => s.service).join(", ") || "nothing"}`);
    await restore(docker, done);
    throw err;
  }
}

/** Put the services a failed apply touched back: updated ones to the spec they had, created ones removed. */
async function restore(docker: DockerClient, done: ServiceStep[]): Promise<void> {
  for (const step of done.reverse()) {
    try {
      if (step.op === "create") await docker.request("DELETE", `/services/${step.spec.Name}`, { what: `remove service ${step.spec.Name}` });
      else if (step.op === "update") await sendSpec(docker, step, step.current.spec);
    } catch (err) {
      log.error(`${step.service}: putting it back failed too: ${(err as Error).message}`);
    }
  }
}

/** After a successful deploy: the stack's configs and secrets no service uses any more. */
export async function pruneObjects(docker: DockerClient, stack: string): Promise<string[]> {
  const services = await observeServices(docker);
  const used = new Set(
    services.flatMap((s) => {
      const cs = s.spec.TaskTemplate.ContainerSpec as { Secrets?: { SecretName: string }[]; Configs?: { ConfigName: string }[] };
      return [...(cs.Secrets ?? []).map((x) => x.SecretName), ...(cs.Configs ?? []).map((x) => x.ConfigName)];
    }),
  );
  const removed: string[] = [];
  for (const o of await stackObjects(docker, stack)) {
    if (!o.managed || used.has(o.name)) continue;
    await docker.request("DELETE", `/${o.kind}/${o.id}`, { what: `remove ${o.kind.slice(0, -1)} ${o.name}` }).catch(() => {});
    removed.push(o.name);
  }
  return removed;
}
