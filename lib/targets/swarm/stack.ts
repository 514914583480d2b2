// One project as a Swarm stack: what runs (observe), what to change (plan, pure), and doing it
// (apply): overlay networks, configs and secrets versioned by content, services created, updated
// or removed, then a gate until every changed service has converged, and on failure the changed
// services put back to the specs they had. Swarm schedules, restarts and rolls out the tasks; Konta
// brings the release, the plan and the rollback.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { BindMount, ProjectModel } from "../../compose/model.ts";
import { canonicalJson, sha256 } from "../../base/digest.ts";
import type { DockerClient } from "../../docker/client.ts";
import { EngineError } from "../../docker/client.ts";
import { DeployError, errorMessage, InputError } from "../../base/errors.ts";
import { LABEL } from "../../base/labels.ts";
import { log, progress } from "../../base/log.ts";
import type { Summary } from "../../base/summary.ts";
import { pinned, registryAuthHeaders } from "./images.ts";
import { networkSpecs, serviceSpec, STACK_NAMESPACE, SwarmKeyError, type SwarmServiceSpec } from "./spec.ts";
import { stackHasChanges } from "./plan-changes.ts";
import type { GateOptions } from "../types.ts";
import { type Held, held, heldNote } from "../held.ts";
import { rounds } from "../../compose/graph.ts";

/** The label holding the hash of the spec Konta sent (its object IDs left out). */
export const SPEC_HASH = "konta.spec-hash";

export interface ObservedService {
  id: string;
  name: string;
  spec: SwarmServiceSpec;
  /** digest of the spec as the engine holds it (its defaults filled in): another one later is a change by hand */
  specDigest: string;
  hash?: string;
  managed: boolean;
  /** konta.instance: the Konta instance that deployed it */
  instance?: string;
}

export interface StackObject {
  kind: "config" | "secret";
  name: string;
  /** the file in the release (or the decrypted copy of a SOPS secret) */
  file: string;
}

export type ServiceStep =
  | { op: "create"; service: string; spec: SwarmServiceSpec }
  | { op: "update"; service: string; current: ObservedService; spec: SwarmServiceSpec; cause: "spec changed" | "changed by hand" }
  | { op: "remove"; service: string; current: ObservedService };

export interface StackPlan {
  stack: string;
  /** "remove": the app folder was deleted from Git */
  kind: "deploy" | "remove";
  networks: Record<string, unknown>[];
  objects: StackObject[];
  steps: ServiceStep[];
  unchanged: string[];
  /** problems that stop the deploy before anything changes */
  blockers: string[];
  /** stacks of this deploy that converge (past their gate) before this one starts (x-konta.depends_on) */
  after?: string[];
}

/** What a service's spec depends on besides its model. */
export interface SpecContext {
  /** this Konta instance, labelled on the services it creates */
  instance?: string;
  /** image reference -> the registry digest its services are pinned to */
  digests?: Map<string, string>;
  /** config/secret name -> its ID in the engine */
  ids?: Map<string, string>;
}

/** What planStack needs besides the model and the engine. */
export interface StackContext extends SpecContext {
  /** service -> the digest of its spec in the engine after the last deploy (state): another one was changed by hand */
  specDigests?: Record<string, string | undefined>;
}

/** A config or secret of the release, named by its content: a changed file is a new object. */
export function objectName(stack: string, file: BindMount): string {
  // a SOPS secret's source is its decrypted copy under the state dir: named after the release's file
  const base = (file.decrypted_from ?? file.written?.name ?? file.source).replace(/^\.\//, "").replace(/[^A-Za-z0-9_.-]/g, "-");
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
export function desiredSpecs(project: ProjectModel, ctx: SpecContext = {}): Map<string, SwarmServiceSpec> {
  const ids = ctx.ids ?? new Map<string, string>();
  const out = new Map<string, SwarmServiceSpec>();
  for (const s of Object.values(project.services)) {
    if (!s.managed) continue;
    const spec = serviceSpec(project, s, (_kind, file) => {
      const name = objectName(project.name, file);
      return { name, id: ids.get(name) ?? "" };
    });
    if (s.stopped) {
      // konta.stopped: the service stays, with no task
      if (!("Replicated" in spec.Mode)) throw new SwarmKeyError(s.name, "labels.konta.stopped", "only a replicated service can be kept stopped (a global one runs on every node)");
      spec.Mode = { Replicated: { Replicas: 0 } };
    }
    spec.Labels[LABEL.managed] = "true";
    if (ctx.instance) spec.Labels[LABEL.instance] = ctx.instance;
    (spec.TaskTemplate.ContainerSpec as { Image: string }).Image = pinned(s.image, ctx.digests?.get(s.image));
    spec.Labels[SPEC_HASH] = specHash(spec);
    out.set(s.name, spec);
  }
  return out;
}

/** A replicated service's replica count (0 for other modes). */
export function replicasOf(mode: Record<string, unknown>): number {
  return (mode as { Replicated?: { Replicas?: number } }).Replicated?.Replicas ?? 0;
}

/** What to do for one stack: pure, from the project and what the engine has. */
export function planStack(project: ProjectModel, observed: ObservedService[], existingNetworks: Set<string>, existingObjects: Set<string>, ctx: StackContext = {}): StackPlan {
  const stack = project.name;
  const desired = desiredSpecs(project, { instance: ctx.instance, digests: ctx.digests });
  const mine = observed.filter((o) => o.spec.Labels?.[STACK_NAMESPACE] === stack);
  const used = new Set(Object.values(project.services).flatMap((s) => (s.managed ? Object.keys(s.networks ?? {}) : [])));
  const objects: StackObject[] = [];
  for (const s of Object.values(project.services)) {
    if (!s.managed) continue;
    for (const [kind, files] of [["secret", s.secrets], ["config", s.configs]] as const) {
      for (const f of files ?? []) {
        const name = objectName(stack, f);
        if (!existingObjects.has(name) && !objects.some((o) => o.name === name)) objects.push({ kind, name, file: resolve(project.dir, f.source) });
      }
    }
  }
  const networks = networkSpecs(project, used).filter((n) => !existingNetworks.has(n.Name as string));
  const plan: StackPlan = { stack, kind: "deploy", networks, objects, steps: [], unchanged: [], blockers: [] };
  for (const [service, spec] of desired) {
    const current = mine.find((o) => o.name === spec.Name);
    if (!current) plan.steps.push({ op: "create", service, spec });
    else if (!current.managed) plan.blockers.push(`service ${spec.Name} exists and is not managed by Konta (docker stack deploy?); remove it (docker service rm ${spec.Name}) or label it konta.managed=true`);
    else if (current.hash !== spec.Labels[SPEC_HASH]) plan.steps.push({ op: "update", service, current, spec, cause: "spec changed" });
    // the spec Konta sent, scaled or updated by hand since: the engine stores a spec with its
    // defaults filled in, so what the engine held after the last deploy is what tells
    else if (replicasOf(current.spec.Mode) !== replicasOf(spec.Mode) || changedSince(current, ctx.specDigests?.[service])) plan.steps.push({ op: "update", service, current, spec, cause: "changed by hand" });
    else plan.unchanged.push(service);
  }
  for (const o of mine) {
    if (o.managed && ![...desired.values()].some((s) => s.Name === o.name)) plan.steps.push({ op: "remove", service: o.name.slice(stack.length + 1), current: o });
  }
  return plan;
}

function changedSince(current: ObservedService, specDigest: string | undefined): boolean {
  return specDigest !== undefined && current.specDigest !== specDigest;
}

/** A stack whose app folder left the release: its managed services go (the objects and networks after). */
export function planStackRemoval(stack: string, observed: ObservedService[]): StackPlan {
  const steps: ServiceStep[] = observed
    .filter((o) => o.managed && o.spec.Labels?.[STACK_NAMESPACE] === stack)
    .map((o) => ({ op: "remove", service: o.name.slice(stack.length + 1), current: o }));
  return { stack, kind: "remove", networks: [], objects: [], steps, unchanged: [], blockers: [] };
}

/** Stacks of this instance in the engine that the release no longer has. */
export function removedStacks(observed: ObservedService[], desired: Set<string>, instance: string | undefined, known: Set<string>): string[] {
  const out = new Set<string>();
  for (const o of observed) {
    const stack = o.spec.Labels?.[STACK_NAMESPACE];
    if (!stack || !o.managed || desired.has(stack)) continue;
    if (known.has(stack) || (instance && o.instance === instance)) out.add(stack);
  }
  return [...out].sort();
}

export interface EngineService {
  ID: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  UpdateStatus?: { State?: string; Message?: string };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks?: number };
}

export interface EngineTask {
  Status: { State: string; Err?: string };
  DesiredState?: string;
  Spec: unknown;
}

const isJob = (mode: Record<string, unknown>) => "ReplicatedJob" in mode || "GlobalJob" in mode;

/**
 * Whether one service has converged, from the service (with its status) and its tasks: pure. Only
 * tasks made from the service's current template count (right after an update the old ones still
 * run and the update may not have started). A service runs its tasks (in Swarm a task with a
 * healthcheck is "running" once healthy); a job completes them.
 */
export function gateStatus(s: EngineService, tasks: EngineTask[]): { done: boolean; summary: string } {
  const state = s.UpdateStatus?.State;
  const { Runtime: _runtime, ...taskTemplate } = s.Spec.TaskTemplate; // a task's copy leaves it out
  const template = canonicalJson(taskTemplate);
  const current = tasks.filter((t) => canonicalJson(t.Spec) === template);
  const update = state ? `, update ${state}` : "";
  const mode = s.Spec.Mode;
  if (isJob(mode)) {
    const complete = current.filter((t) => t.Status.State === "complete").length;
    if ("ReplicatedJob" in mode) {
      const want = (mode.ReplicatedJob as { TotalCompletions?: number }).TotalCompletions ?? 1;
      return { done: complete >= want, summary: `${s.Spec.Name}: ${complete}/${want} tasks completed${update}` };
    }
    // a global job: one task per eligible node, made at once; the engine's count of them drops to 0 once done
    return { done: current.length > 0 && complete === current.length, summary: `${s.Spec.Name}: ${complete}/${current.length} tasks completed${update}` };
  }
  const live = tasks.filter((t) => t.DesiredState === undefined || t.DesiredState === "running");
  const running = current.filter((t) => t.Status.State === "running" && (t.DesiredState === undefined || t.DesiredState === "running")).length;
  // a replicated service asks for its replicas (0 when kept stopped); a global one for one per eligible node
  const want = "Replicated" in mode ? replicasOf(mode) : (s.ServiceStatus?.DesiredTasks ?? 0);
  const ready = "Replicated" in mode || want > 0;
  return { done: state !== "updating" && ready && running >= want && live.length === running, summary: `${s.Spec.Name}: ${running}/${want} tasks running${update}` };
}

/** An engine that is no Swarm manager answers 503 to every Swarm endpoint: say what to do instead. */
export function notAManager(err: unknown, docker: DockerClient): unknown {
  if (!(err instanceof EngineError && err.status === 503)) return err;
  return new InputError(`deploy.target is swarm, but the engine at ${docker.socket} is not a Swarm manager (${err.engineMessage.trim()})`, {
    hint: "run Konta on a manager node (docker swarm init makes this one the first), or set deploy.target: engine",
  });
}

export async function observeServices(docker: DockerClient): Promise<ObservedService[]> {
  const list = await docker
    .request<EngineService[]>("GET", "/services", { query: { filters: JSON.stringify({ label: [STACK_NAMESPACE] }) }, what: "list services" })
    .catch((err) => {
      throw notAManager(err, docker);
    });
  return list.map((s) => ({
    id: s.ID,
    name: s.Spec.Name,
    spec: s.Spec,
    // the spec, not the version: Swarm bumps the version itself while it rolls an update out
    specDigest: sha256(canonicalJson(s.Spec)),
    hash: s.Spec.Labels?.[SPEC_HASH],
    managed: s.Spec.Labels?.[LABEL.managed] === "true",
    instance: s.Spec.Labels?.[LABEL.instance],
  }));
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
  // the nodes pull with the manager's credentials for this image
  return registryAuthHeaders((spec.TaskTemplate.ContainerSpec as { Image: string }).Image);
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
      // a job's tasks are done when complete: all of them, not only those meant to run
      const filters = isJob(s.Spec.Mode) ? { service: [id] } : { service: [id], "desired-state": ["running"] };
      const tasks = await docker.request<EngineTask[]>("GET", "/tasks", { query: { filters: JSON.stringify(filters) }, what: `list tasks of ${name}` });
      const status = gateStatus(s, tasks);
      last = { name, id, summary: status.summary };
      if (status.done) pending.delete(name);
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

export interface ApplyStacksOptions {
  gate: GateOptions;
  /** the digests the plan pinned the images to */
  digests?: Map<string, string>;
  /** decrypted SOPS secrets, by the path their BindMount names */
  secretFiles?: Map<string, string>;
  instance?: string;
}

/** A failed apply, after putting back what it changed: the stacks it touched, and whether that worked. */
export class StackApplyFailure extends DeployError {
  constructor(
    readonly original: unknown,
    readonly touched: string[],
    readonly summary: Summary,
    readonly restored: boolean,
    readonly held: Held[] = [],
  ) {
    super(`${errorMessage(original)}${heldNote(held)}`, original instanceof DeployError ? { hint: original.hint } : {});
  }
}

type Done = ServiceStep & { stack: string };

/**
 * Apply the plans of several stacks in rounds (a stack after those it depends on): networks,
 * objects, every service step of the round, then one gate over the round's changed services. On
 * failure every service changed is put back to the spec it had (created ones removed, removed ones
 * created again) and StackApplyFailure names the stacks touched and those held back.
 */
export async function applyStacks(docker: DockerClient, items: { project?: ProjectModel; plan: StackPlan }[], opts: ApplyStacksOptions, summary: Summary): Promise<void> {
  const done: Done[] = [];
  const touched = new Set<string>();
  const applied = items.filter((x) => stackHasChanges(x.plan));
  const byStack = new Map(applied.map((x) => [x.plan.stack, x]));
  let round: string[] = [];
  try {
    for (round of rounds([...byStack.keys()], (stack) => byStack.get(stack)?.plan.after ?? [])) {
      const changed = new Map<string, string>();
      for (const { project, plan } of round.map((stack) => byStack.get(stack) as (typeof applied)[number])) {
        touched.add(plan.stack);
        await createObjects(docker, plan, opts);
        const ids = new Map((await stackObjects(docker, plan.stack)).map((o) => [o.name, o.id]));
        const specs = project ? desiredSpecs(project, { ids, instance: opts.instance, digests: opts.digests }) : new Map<string, SwarmServiceSpec>();
        for (const step of plan.steps) {
          const key = `${plan.stack}/${step.service}`;
          if (step.op === "remove") {
            progress(`${step.current.name}: removing (${plan.kind === "remove" ? "app folder deleted" : "not in the file any more"})`);
            await docker.request("DELETE", `/services/${step.current.id}`, { what: `remove service ${step.current.name}` });
            done.push({ ...step, stack: plan.stack });
            summary.removed.push(key);
            continue;
          }
          const spec = specs.get(step.service) as SwarmServiceSpec;
          progress(`${spec.Name}: ${step.op === "create" ? "creating" : `updating (${step.cause})`}`);
          changed.set(spec.Name, await sendSpec(docker, step, spec));
          done.push({ ...step, stack: plan.stack });
          (step.op === "create" ? summary.added : summary.updated).push(key);
        }
      }
      await waitConverged(docker, changed, opts.gate);
    }
  } catch (err) {
    summary.failed.push(...touched);
    log.warn(`${errorMessage(err)}; putting back ${done.map((s) => `${s.stack}/${s.service}`).join(", ") || "nothing"}`);
    const restored = await restore(docker, done);
    // the objects this run created are used by no service now
    for (const stack of touched) await pruneObjects(docker, stack).catch(() => []);
    const untouched = applied.filter((x) => !touched.has(x.plan.stack));
    throw new StackApplyFailure(err, [...touched], summary, restored, untouched.map(({ plan }) => held(plan.stack, (plan.after ?? []).filter((d) => round.includes(d)))));
  }
  for (const { plan } of applied) {
    await pruneObjects(docker, plan.stack);
    if (plan.kind === "remove") await removeNetworks(docker, plan.stack);
  }
}

async function createObjects(docker: DockerClient, plan: StackPlan, opts: ApplyStacksOptions): Promise<void> {
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
    const data = opts.secretFiles?.get(o.file) ?? readFileSync(o.file);
    const labels: Record<string, string> = { [STACK_NAMESPACE]: plan.stack, [LABEL.managed]: "true", ...(opts.instance ? { [LABEL.instance]: opts.instance } : {}) };
    try {
      await docker.request("POST", `/${o.kind}s/create`, { body: { Name: o.name, Data: Buffer.from(data).toString("base64"), Labels: labels }, what: `create ${o.kind} ${o.name}` });
    } catch (err) {
      // named by content: one left by an earlier failed run is the same object
      if (!(err instanceof EngineError && err.status === 409)) throw err;
    }
  }
}

/** A removed stack's networks; its tasks may still be leaving them for a few seconds. */
async function removeNetworks(docker: DockerClient, stack: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${STACK_NAMESPACE}=${stack}`] });
  for (const n of await docker.request<{ Id: string; Name: string }[]>("GET", "/networks", { query: { filters }, what: "list networks" })) {
    for (let attempt = 0; ; attempt++) {
      try {
        await docker.request("DELETE", `/networks/${n.Id}`, { what: `remove network ${n.Name}` });
        break;
      } catch (err) {
        if (err instanceof EngineError && err.status === 404) break;
        if (attempt >= 20) {
          log.warn(`${stack}: network ${n.Name} not removed (${errorMessage(err)}); remove it with: docker network rm ${n.Name}`);
          break;
        }
        await Bun.sleep(500);
      }
    }
  }
}

/** Put back what a failed apply changed: updated services to the spec they had, created ones removed, removed ones created again. */
async function restore(docker: DockerClient, done: Done[]): Promise<boolean> {
  let ok = true;
  for (const step of done.reverse()) {
    try {
      if (step.op === "create") await docker.request("DELETE", `/services/${step.spec.Name}`, { what: `remove service ${step.spec.Name}` });
      else if (step.op === "update") await sendSpec(docker, step, step.current.spec);
      else await sendSpec(docker, { op: "create" }, step.current.spec);
      log.info(`${step.stack}/${step.service}: put back`);
    } catch (err) {
      ok = false;
      log.error(`${step.stack}/${step.service}: putting it back failed too: ${errorMessage(err)}`);
    }
  }
  return ok;
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
