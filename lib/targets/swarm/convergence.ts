// One release -> a Swarm (deploy.target: swarm): every app folder a stack, planned against the
// services the manager has, applied with one gate, put back on failure. The counterpart of
// the engine's (../engine/convergence.ts) for `konta sync`, `konta rollback` and `konta plan`; Swarm pulls the images on
// the nodes, so there is no image step here.
import { existsSync } from "node:fs";
import { type LoadedProject, loadReleaseUnlocking, refuseKey, refused } from "../../compose/index.ts";
import type { DockerClient } from "../../docker/client.ts";
import { inspectImage, splitImageRef } from "../../docker/images.ts";
import { DeployError, errorMessage, InputError } from "../../base/errors.ts";
import { LABEL } from "../../base/labels.ts";
import { log } from "../../base/log.ts";
import type { Summary } from "../../base/summary.ts";
import { emptySummary, sortSummary } from "../../base/summary.ts";
import { imagesOf, type ProjectExpectation, type ReleaseImages, type ServiceTarget } from "../../state/index.ts";
import type { Convergence, DeployOptions, ReleaseRef } from "../types.ts";
import { projectExpectation } from "../expectation.ts";
import { registryDigest, resolveImages } from "./images.ts";
import { stackHasChanges } from "./plan-changes.ts";
import { portHolders, type SwarmFacts, swarmNodes, swarmRuleErrors } from "./rules.ts";
import { SwarmKeyError } from "./spec.ts";
import { swarmPlanView } from "./view.ts";
import { dependencyErrors, prerequisitesOf, rounds } from "../../compose/graph.ts";
import { collate } from "../../base/collate.ts";
import {
  applyStacks,
  desiredSpecs,
  observeServices,
  observeStackObjects,
  planStack,
  planStackRemoval,
  removedStacks,
  replicasOf,
  SPEC_HASH,
  type StackPlan,
} from "./stack.ts";

export interface SwarmPrepared {
  release: ReleaseRef;
  projects: LoadedProject[];
  /** a removed app's stack has no project */
  stacks: { project?: LoadedProject; plan: StackPlan }[];
  /** image reference -> the digest its services are pinned to */
  digests: Map<string, string>;
}

// the loader warns that a single engine ignores these; a Swarm applies them
const APPLIED_HERE = /is Swarm-only; ignored on a single engine/;

const specDigests = (exp: ProjectExpectation | undefined) => Object.fromEntries(Object.entries(exp?.services ?? {}).map(([name, t]) => [name, t.engineSpec]));

/**
 * Load the release and plan every stack against the manager. Changes nothing. Images are pinned to
 * their registry digests: those in `digests` as given (a drift repair puts back what ran, an image
 * update brings the moved tags only), the others asked of the registry.
 */
export async function prepareSwarm(release: ReleaseRef, opts: DeployOptions, digests?: Map<string, string>): Promise<SwarmPrepared> {
  const projects = await loadReleaseUnlocking(release.root, release.load);
  for (const p of projects) for (const w of p.warnings) if (!APPLIED_HERE.test(w)) log.warn(w);
  const observed = await observeServices(opts.docker);
  const refusals = validateSwarm(projects, release.root, await swarmFacts(projects, opts.docker));
  if (refusals.length) throw refused(refusals);
  const refs = projects.flatMap((p) => Object.values(p.services).filter((s) => s.managed).map((s) => s.image));
  const pins = await resolveImages(opts.docker, refs, digests);
  const stacks: SwarmPrepared["stacks"] = [];
  for (const project of projects) {
    const { networks, objects } = await observeStackObjects(opts.docker, project.name);
    stacks.push({ project, plan: planStack(project, observed, networks, objects, { instance: opts.instance, digests: pins, specDigests: specDigests(opts.prior?.[project.name]) }) });
  }
  if (opts.pruneRemovedApps) {
    const removed = removedStacks(observed, new Set(projects.map((p) => p.name)), opts.instance, new Set(Object.keys(opts.prior ?? {})));
    for (const stack of removed) stacks.push({ plan: planStackRemoval(stack, observed) });
  }
  return { release, projects, stacks: inDependencyOrder(stacks, projects), digests: pins };
}

/** Stacks in the order they converge (x-konta.depends_on), each changed one with the changed stacks it waits for. */
function inDependencyOrder(stacks: SwarmPrepared["stacks"], projects: LoadedProject[]): SwarmPrepared["stacks"] {
  const prerequisites = prerequisitesOf(projects);
  const changed = new Set(stacks.filter((s) => stackHasChanges(s.plan)).map((s) => s.plan.stack));
  for (const { plan } of stacks) {
    const after = [...(prerequisites.get(plan.stack) ?? [])].filter((d) => changed.has(d)).sort(collate);
    if (changed.has(plan.stack) && after.length) plan.after = after;
  }
  const byStack = new Map(stacks.map((s) => [s.plan.stack, s]));
  return rounds([...byStack.keys()], (stack) => [...(prerequisites.get(stack) ?? [])]).flat().map((stack) => byStack.get(stack) as SwarmPrepared["stacks"][number]);
}

/** What the swarm as it is can give the release, as the rules read it; asks the engine only for what the release uses. */
async function swarmFacts(projects: LoadedProject[], docker: DockerClient): Promise<SwarmFacts> {
  const managed = projects.flatMap((p) => Object.values(p.services).filter((s) => s.managed).map((s) => ({ p, s })));
  const ports = managed.some(({ s }) => s.ports?.some((port) => port.published));
  const external = managed.some(({ p, s }) => Object.keys(s.networks ?? {}).some((k) => p.networks[k]?.external));
  const [services, nodes, networks] = await Promise.all([
    ports ? docker.request<Parameters<typeof portHolders>[0]>("GET", "/services", { what: "list services" }) : [],
    ports ? docker.request<Parameters<typeof swarmNodes>[0]>("GET", "/nodes", { what: "list nodes" }) : [],
    external ? docker.request<{ Name: string }[]>("GET", "/networks", { what: "list networks" }) : [],
  ]);
  return { services: portHolders(services), nodes: swarmNodes(nodes), networks: new Set(networks.map((n) => n.Name)), fileExists: existsSync };
}

/**
 * What a swarm refuses in a release: every service its spec conversion cannot express, and every
 * rule of the swarm as `facts` knows it (with no engine, `konta check`: what needs the swarm's
 * nodes or networks is left to the deploy), and a dependency on no project or in a cycle. Each
 * worded as the loader words its errors.
 */
export function validateSwarm(projects: LoadedProject[], root: string, facts: SwarmFacts): InputError[] {
  const out: InputError[] = [];
  for (const p of projects) {
    try {
      desiredSpecs(p);
    } catch (err) {
      if (!(err instanceof SwarmKeyError)) throw err;
      out.push(refuseKey(p, root, err, "deploy.target is swarm: fix the file (or deploy it to a single engine with deploy.target: engine)"));
    }
  }
  for (const { project, error } of [...swarmRuleErrors(projects, facts), ...dependencyErrors(projects)]) out.push(refuseKey(project as LoadedProject, root, error, "nothing was changed"));
  return out;
}

export function changedStacks(p: SwarmPrepared): string[] {
  return p.stacks.filter((s) => stackHasChanges(s.plan)).map((s) => s.plan.stack);
}

/** Apply the prepared stacks; throws StackApplyFailure after putting back what it changed. */
export async function applySwarm(p: SwarmPrepared, opts: DeployOptions): Promise<Summary> {
  const blockers = p.stacks.flatMap((s) => s.plan.blockers.map((b) => `${s.plan.stack}: ${b}`));
  if (blockers.length) throw new InputError(`cannot deploy; nothing was changed:\n  ${blockers.join("\n  ")}`);
  const summary = emptySummary();
  await applyStacks(opts.docker, p.stacks, { gate: opts.gate, digests: p.digests, secretFiles: p.release.load.sops?.files, instance: opts.instance }, summary);
  return sortSummary(summary);
}

/** What the manager should have after a successful deploy, with each service's spec as the engine holds it then (state.expected). */
export async function swarmExpectations(p: SwarmPrepared, docker: DockerClient, instance?: string): Promise<Record<string, ProjectExpectation>> {
  const services = await observeServices(docker);
  const out: Record<string, ProjectExpectation> = {};
  for (const model of p.projects) {
    const targets: Record<string, ServiceTarget> = {};
    for (const [name, spec] of desiredSpecs(model, { instance, digests: p.digests })) {
      const s = model.services[name];
      const now = services.find((o) => o.name === spec.Name);
      targets[name] = {
        hash: spec.Labels[SPEC_HASH] as string,
        image: s?.image ?? "",
        replicas: replicasOf(spec.Mode),
        stopped: s?.stopped ?? false,
        job: false,
        // for a swarm: the registry digest the service is pinned to
        ...(s && p.digests.has(s.image) ? { imageId: p.digests.get(s.image) } : {}),
        ...(s?.labels?.[LABEL.imageUpdates] === "true" ? { imageUpdates: true as const } : {}),
        ...(s?.pull_every !== undefined ? { pullEvery: s.pull_every } : {}),
        ...(now ? { engineSpec: now.specDigest } : {}),
      };
    }
    if (!Object.keys(targets).length) continue;
    out[model.name] = projectExpectation(model, targets);
  }
  return out;
}

/** Pinned digests by image reference (a release runs one image per reference). */
const digestsOf = (pins: ReleaseImages) => new Map(Object.values(pins).flatMap((services) => Object.values(services).map((r) => [r.image, r.id] as const)));

/**
 * Before a rollback changes anything: the registry still has every digest the release ran (the
 * nodes pull it), or at least the manager does; otherwise exit 1 naming the service.
 */
export async function ensureSwarmImages(docker: DockerClient, pins: ReleaseImages): Promise<void> {
  // services of one image ask once: this is on the way to serving the rollback
  const checked = new Set<string>();
  for (const [project, services] of Object.entries(pins)) {
    for (const [service, r] of Object.entries(services)) {
      const ref = `${splitImageRef(r.image).repo}@${r.id}`;
      if (checked.has(ref)) continue;
      checked.add(ref);
      const asked = await registryDigest(docker, ref).catch((err: unknown) => err);
      if (typeof asked === "string") continue;
      if (await inspectImage(docker, ref)) {
        log.warn(`${project}/${service}: no registry has ${ref} any more (${errorMessage(asked).split("\n")[0]}); only nodes that still hold it can run it`);
        continue;
      }
      throw new DeployError(`${project}/${service} ran ${ref}, which no registry has any more (${errorMessage(asked).split("\n")[0]}); nothing was changed`, {
        hint: "push that image again, or deploy a new commit instead",
      });
    }
  }
}

/** The swarm target's Convergence: the manager's nodes pull the images themselves, so there is no image step. */
export async function swarmConvergence(release: ReleaseRef, opts: DeployOptions, pins?: ReleaseImages): Promise<Convergence> {
  const p = await prepareSwarm(release, opts, pins && digestsOf(pins));
  return {
    projects: p.projects,
    changed: changedStacks(p),
    plan: swarmPlanView(p.stacks.map((s) => s.plan)),
    fetchImages: async () => {},
    apply: () => applySwarm(p, opts),
    expected: () => swarmExpectations(p, opts.docker, opts.instance),
    // a service's imageId is already the registry digest it is pinned to
    ran: async (expected) => imagesOf(expected),
    mounted: () => [],
    // a service update is one request the swarm carries out whole: nothing is left half-made
    interrupted: false,
  };
}
