// The plan: pure data saying, per project and managed service, what to create, recreate (and
// why), start, stop or remove. No engine calls here: the inputs are the model (or the targets
// remembered in state) and what the engine has; `konta plan` prints the result, apply executes it.
import type { NetworkModel, ProjectModel, ServiceModel } from "../../compose/model.ts";
import { serviceHash } from "../../compose/hash.ts";
import { serviceReferences } from "../../compose/references.ts";
import { canonicalJson, sha256 } from "../../base/digest.ts";
import type { NetworkSummary } from "../../docker/engine.ts";
import { LABEL } from "../../base/labels.ts";
import { containerName, isOurs, isTemporaryName } from "./labels.ts";
import { hostBindings } from "../../compose/ports.ts";
import { startLevels } from "./order.ts";
import { containerIndex, type Observed, type ObservedContainer } from "./observe.ts";
import type { ServiceTarget } from "../../state/index.ts";
import { type Sequence, sequence } from "./steps.ts";
import type { Action, Cause } from "./actions.ts";

export { type Action, type Cause, type CreateReason, describeCause } from "./actions.ts";

export interface ProjectPlan {
  project: string;
  /** "remove": the app folder was deleted from Git */
  kind: "deploy" | "remove";
  networks: { create: string[]; recreate: string[]; remove: string[] };
  volumes: { create: string[]; kept: string[] };
  actions: Action[];
  unchanged: string[];
  /** problems that stop the deploy before anything changes */
  blockers: string[];
  notes: string[];
  /** the engine requests that carry the actions out, in order (steps.ts) */
  sequence: Sequence;
  /** projects of this plan applied (and past their gate) before this one starts */
  after?: string[];
}

export interface Plan {
  projects: ProjectPlan[];
}

/** No restart policy (or on-failure): exiting 0 is allowed, at least during the health gate. */
export function isOneShot(s: ServiceModel): boolean {
  return !s.restart || s.restart.name === "on-failure";
}

/** Services that others wait for with `condition: service_completed_successfully`. */
export function awaitedForCompletion(model: ProjectModel): Set<string> {
  const out = new Set<string>();
  for (const s of Object.values(model.services)) {
    for (const [dep, d] of Object.entries(s.depends_on ?? {})) if (d.condition === "service_completed_successfully") out.add(dep);
  }
  return out;
}

/**
 * The rule that tells a finished job from a stopped service: a one-shot service is a job when
 * another service waits for its completion, or when its containers had all exited 0 at the end of
 * the last successful deploy (`completedBefore`, remembered in state).
 */
export function isJob(s: ServiceModel, awaited: Set<string>, completedBefore: boolean): boolean {
  return isOneShot(s) && (awaited.has(s.name) || completedBefore);
}

export function serviceTarget(s: ServiceModel, imageId: string | undefined, job = false): ServiceTarget {
  return {
    hash: serviceHash(s),
    image: s.image,
    ...(imageId ? { imageId } : {}),
    replicas: s.replicas,
    stopped: s.stopped,
    job,
    ...(s.container_name ? { containerName: s.container_name } : {}),
    ...(s.labels?.[LABEL.imageUpdates] === "true" ? { imageUpdates: true as const } : {}),
    ...(s.pull_every !== undefined ? { pullEvery: s.pull_every } : {}),
    ...(hostBindings(s.ports).length ? { hostPorts: hostBindings(s.ports) } : {}),
  };
}

/** docker/compose's rule, made pure: recreate when the config hash or the image ID differ. */
export function recreateCauses(target: ServiceTarget, c: ObservedContainer): Cause[] {
  const causes: Cause[] = [];
  if (c.hash !== target.hash) causes.push({ kind: "config" });
  if (target.imageId !== undefined && c.imageId !== target.imageId) causes.push({ kind: "image" });
  return causes;
}

function better(a: ObservedContainer, b: ObservedContainer, t: ServiceTarget, name: string): number {
  const score = (c: ObservedContainer) =>
    (recreateCauses(t, c).length === 0 ? 4 : 0) + (c.name === name ? 2 : 0) + (c.state === "running" ? 1 : 0);
  return score(b) - score(a) || b.created - a.created;
}

/** Actions for one service, given its containers in the engine. `extraCauses` force a recreate (e.g. its network changed). */
export function planService(project: string, service: string, t: ServiceTarget, containers: ObservedContainer[], extraCauses: Cause[] = []): Action[] {
  const actions: Action[] = [];
  const byNumber = new Map<number, ObservedContainer[]>();
  for (const c of containers) {
    if (!Number.isInteger(c.number) || c.number < 1) {
      actions.push({ type: "remove", service, number: c.number, container: c, reason: "container without a valid number" });
      continue;
    }
    byNumber.set(c.number, [...(byNumber.get(c.number) ?? []), c]);
  }
  // what an interrupted recreate left goes before anything else of the service
  const leftovers: Action[] = [];
  for (let n = 1; n <= t.replicas; n++) {
    const name = containerName(project, service, n, t.containerName);
    let candidates = byNumber.get(n) ?? [];
    // a new container under its temporary name while the one it was to replace is still there: the
    // recreate starts again from the old one (a lone one is the service's container: it is kept)
    const temporary = candidates.filter((c) => isTemporaryName(c.name, name));
    if (temporary.length && temporary.length < candidates.length) {
      for (const c of temporary) leftovers.push({ type: "remove", service, number: n, container: c, reason: "left by an interrupted recreate" });
      candidates = candidates.filter((c) => !temporary.includes(c));
    }
    const [best, ...extra] = candidates.sort((a, b) => better(a, b, t, name));
    for (const c of extra) actions.push({ type: "remove", service, number: n, container: c, reason: "duplicate left by an interrupted run" });
    if (!best) {
      actions.push({ type: "create", service, number: n, reason: "missing" });
      continue;
    }
    const causes = [...recreateCauses(t, best), ...extraCauses];
    if (best.name !== name) causes.push({ kind: "renamed", name: best.name, expected: name });
    const running = best.state === "running" || best.state === "restarting";
    if (causes.length) actions.push({ type: "recreate", service, number: n, container: best, causes });
    else if (t.stopped && running) actions.push({ type: "stop", service, number: n, container: best, reason: "konta.stopped=true" });
    else if (!t.stopped && !running && !(t.job && best.state === "exited" && best.exitCode === 0)) {
      actions.push({ type: "start", service, number: n, container: best });
    }
  }
  const surplus = [...byNumber.entries()].filter(([n]) => n > t.replicas).sort(([a], [b]) => b - a);
  for (const [n, list] of surplus) for (const c of list) actions.push({ type: "remove", service, number: n, container: c, reason: "scaled down" });
  return [...leftovers, ...actions];
}

/** Services whose container this one's config names by ID once created. */
function containerBoundTo(s: ServiceModel): string[] {
  return serviceReferences(s)
    .filter((r) => r.key[0] === "network_mode" || r.key[0] === "ipc" || r.key[0] === "pid" || r.key[0] === "volumes_from")
    .map((r) => r.name);
}

export function networkHash(n: NetworkModel): string {
  const { name: _name, external: _external, ...def } = n;
  return sha256(canonicalJson(def)).slice(0, 16);
}

function networkChanged(existing: NetworkSummary | undefined, n: NetworkModel): boolean {
  const label = existing?.Labels?.[LABEL.networkHash];
  return !!existing && !n.external && label !== undefined && label !== networkHash(n);
}

export interface DesiredProject {
  model: ProjectModel;
  targets: Record<string, ServiceTarget>;
  /** deploy.auto_create_external_networks: a missing external network is created, not a blocker */
  createExternalNetworks?: boolean;
  /** networks a prerequisite creates, by name -> that project (graph.ts providedNetworks) */
  provided?: Map<string, string>;
}

function emptyPlan(project: string, kind: ProjectPlan["kind"]): ProjectPlan {
  return {
    project,
    kind,
    networks: { create: [], recreate: [], remove: [] },
    volumes: { create: [], kept: [] },
    actions: [],
    unchanged: [],
    blockers: [],
    notes: [],
    sequence: { prelude: [], phases: [], epilogue: [] },
  };
}

export function planProject(desired: DesiredProject, observed: Observed): ProjectPlan {
  const { model, targets } = desired;
  const plan = emptyPlan(model.name, "deploy");
  const { byProject, byName } = containerIndex(observed.containers);
  const current = byProject.get(model.name) ?? new Map<string, ObservedContainer[]>();
  const managed = Object.values(model.services).filter((s) => s.managed);

  const usedNetworks = new Set(managed.flatMap((s) => Object.keys(s.networks ?? {})));
  const changedNetworks = new Set<string>();
  for (const key of usedNetworks) {
    const n = model.networks[key] as NetworkModel;
    const existing = observed.networks.get(n.name);
    const provider = n.external && !existing ? desired.provided?.get(n.name) : undefined;
    if (provider) {
      plan.notes.push(`external network ${n.name} is created by ${provider}, which is applied first (x-konta.depends_on)`);
    } else if (n.external && !existing && !desired.createExternalNetworks) {
      plan.blockers.push(`external network "${n.name}" does not exist; create it first (docker network create ${n.name}) or set deploy.auto_create_external_networks: true`);
    } else if (!existing) {
      if (n.external) plan.notes.push(`external network ${n.name} does not exist: creating it (deploy.auto_create_external_networks)`);
      plan.networks.create.push(key);
    }
    else if (networkChanged(existing, n)) {
      plan.networks.recreate.push(key);
      changedNetworks.add(key);
    }
  }
  const usedVolumes = new Set(managed.flatMap((s) => (s.volumes ?? []).flatMap((v) => (v.type === "volume" && v.source ? [v.source] : []))));
  for (const key of usedVolumes) {
    const v = model.volumes[key];
    if (!v) continue;
    const exists = observed.volumes.has(v.name);
    if (v.external && !exists) plan.blockers.push(`external volume "${v.name}" does not exist; create it first: docker volume create ${v.name}`);
    else if (!exists) plan.volumes.create.push(key);
  }

  // in start order, so that a recreated service is known before the services that point at it
  const replaced = new Set<string>();
  const ordered = startLevels(managed).flat().map((n) => model.services[n] as ServiceModel);
  for (const s of ordered) {
    const t = targets[s.name] as ServiceTarget;
    for (let n = 1; n <= t.replicas; n++) {
      const name = containerName(model.name, s.name, n, t.containerName);
      const holder = byName.get(name);
      if (holder && !(holder.managed && holder.project === model.name && holder.service === s.name)) {
        plan.blockers.push(
          `container name "${name}" is taken by container ${holder.id.slice(0, 12)}, which Konta does not manage for ${model.name}/${s.name}; rename or remove it (docker rm -f ${name}) or change container_name`,
        );
      }
    }
    const causes: Cause[] = [
      ...Object.keys(s.networks ?? {})
        .filter((k) => changedNetworks.has(k))
        .map((network): Cause => ({ kind: "network", network })),
      // the engine pins network_mode: service: and volumes_from to the container ID, which a recreate changes
      ...containerBoundTo(s)
        .filter((dep) => replaced.has(dep))
        .map((service): Cause => ({ kind: "bound", service })),
    ];
    const actions = planService(model.name, s.name, t, current.get(s.name) ?? [], causes);
    // depends_on restart: true: a service left alone is restarted when what it depends on is recreated
    const restartFor = Object.entries(s.depends_on ?? {}).find(([dep, d]) => d.restart && replaced.has(dep))?.[0];
    if (restartFor && !actions.length && !t.stopped) {
      for (const c of current.get(s.name) ?? []) {
        if (c.state === "running") actions.push({ type: "restart", service: s.name, number: c.number, container: c, reason: `${restartFor} is recreated; depends_on restart: true` });
      }
    }
    // shown by `konta plan`: the new container starts before the old one goes (konta.rolling)
    if (s.update_order === "start-first") for (const a of actions) if (a.type === "recreate") a.order = "start-first";
    if (actions.some((a) => a.type === "create" || a.type === "recreate")) replaced.add(s.name);
    if (actions.length) plan.actions.push(...actions);
    else plan.unchanged.push(s.name);
  }

  for (const [service, containers] of current) {
    const s = model.services[service];
    if (s && !s.managed) {
      plan.notes.push(`service ${service} is no longer konta.managed; its containers are left alone`);
      continue;
    }
    if (s) continue;
    for (const c of containers) plan.actions.push({ type: "remove", service, number: c.number, container: c, reason: "removed from the Compose file" });
  }
  plan.sequence = sequence(plan, model, (a) => (a.type === "create" || a.type === "recreate" ? containerName(model.name, a.service, a.number, targets[a.service]?.containerName) : a.container.name));
  return plan;
}

/** An app folder deleted from Git: stop and remove what Konta created, remove its networks, keep its volumes. */
export function planRemoval(project: string, observed: Observed): ProjectPlan {
  const plan = emptyPlan(project, "remove");
  for (const c of observed.containers) {
    if (c.project === project && c.kontaCreated) {
      plan.actions.push({ type: "remove", service: c.service ?? "?", number: c.number, container: c, reason: "app folder removed from Git" });
    }
  }
  for (const n of observed.networks.values()) {
    if (n.Labels?.[LABEL.project] === project && n.Labels?.[LABEL.managed] === "true") plan.networks.remove.push(n.Name);
  }
  for (const v of observed.volumes.values()) {
    if (v.Labels?.[LABEL.project] === project) plan.volumes.kept.push(v.Name);
  }
  plan.sequence = sequence(plan, undefined, (a) => ("container" in a ? a.container.name : a.service));
  return plan;
}

/** Projects in the engine that this Konta instance deployed but that are not in the release. */
export function removedProjects(observed: Observed, desired: Set<string>, instance?: string, known: Set<string> = new Set()): string[] {
  const out = new Set<string>();
  for (const c of observed.containers) {
    if (c.project && !desired.has(c.project) && (isOurs(c, instance) || (c.kontaCreated && known.has(c.project)))) out.add(c.project);
  }
  return [...out].sort();
}

/** Projects whose containers another Konta instance (another repository, branch or path) created. */
export function foreignProjects(observed: Observed, instance: string | undefined, known: Set<string> = new Set()): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of observed.containers) {
    if (c.kontaCreated && c.project && !isOurs(c, instance) && !known.has(c.project)) out.set(c.project, c.labels[LABEL.instance] as string);
  }
  return out;
}

export function projectHasChanges(p: ProjectPlan): boolean {
  return p.actions.length > 0 || p.networks.create.length > 0 || p.networks.recreate.length > 0 || p.networks.remove.length > 0 || p.volumes.create.length > 0;
}

export function planHasChanges(plan: Plan): boolean {
  return plan.projects.some(projectHasChanges);
}
