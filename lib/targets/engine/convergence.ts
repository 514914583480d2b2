// One release -> the engine: load every project, plan against what runs, get the images, apply
// project by project, and on failure put the touched projects back to the previous release.
// Shared by `konta sync` (new commit or drift repair), `konta rollback` and `konta plan`.
import { type LoadedProject, loadReleaseUnlocking, refused } from "../../compose/index.ts";
import { validateEngine } from "./rules.ts";
import type { ServiceModel } from "../../compose/model.ts";
import type { DockerClient } from "../../docker/client.ts";
import { EngineWatch } from "../../docker/events.ts";
import { inspectImage, pullImage, splitImageRef } from "../../docker/images.ts";
import { buildImage } from "../../docker/build.ts";
import { containerReferences } from "../../compose/policy.ts";
import { applyConcurrently, heldBack, orderProjects, projectPrerequisites } from "./cross.ts";
import { prerequisitesOf, providedNetworks } from "../../compose/graph.ts";
import { type Held, heldNote } from "../held.ts";
import { collate } from "../../base/collate.ts";
import { DeployError, errorMessage, ExitCode, InputError, KontaError, UnreachableError } from "../../base/errors.ts";
import { failpoint } from "../../base/failpoint.ts";
import { settleHeap } from "../../base/heap.ts";
import { log, progress } from "../../base/log.ts";
import { step } from "../../base/steps.ts";
import { applyProject, type ApplyOptions } from "./apply.ts";
import { EngineJournal, settleInterrupted } from "./journal.ts";
import { planView } from "./view.ts";
import { emptySummary, sortSummary, type Summary } from "../../base/summary.ts";
import { observe, observeContainers, type Observed, type ObservedContainer } from "./observe.ts";
import {
  awaitedForCompletion,
  type DesiredProject,
  isJob,
  type Plan,
  planProject,
  type ProjectPlan,
  foreignProjects,
  planRemoval,
  projectHasChanges,
  removedProjects,
  serviceTarget,
} from "./plan.ts";
import { imagesOf, type ProjectExpectation, type ReleaseImages, type ServiceTarget } from "../../state/index.ts";
import type { Convergence, DeployOptions, ReleaseRef } from "../types.ts";
import { projectExpectation } from "../expectation.ts";

export interface Prepared {
  release: ReleaseRef;
  projects: LoadedProject[];
  desired: Map<string, DesiredProject>;
  observed: Observed;
  plan: Plan;
  /** the images to run instead of what the tags point at now (a rollback to what a release ran) */
  pins?: ReleaseImages;
  /** names of containers a killed run was creating, settled before observing (see journal.ts) */
  interrupted: string[];
}

const managedServices = (projects: LoadedProject[]): ServiceModel[] => projects.flatMap((p) => Object.values(p.services).filter((s) => s.managed));

async function localImageIds(docker: DockerClient, services: ServiceModel[]): Promise<Map<string, string | undefined>> {
  const refs = [...new Set(services.map((s) => s.image))];
  const ids = await Promise.all(refs.map(async (ref) => (await inspectImage(docker, ref))?.Id));
  return new Map(refs.map((ref, i) => [ref, ids[i]]));
}

function plan(projects: LoadedProject[], images: Map<string, string | undefined>, observed: Observed, opts: DeployOptions, pins?: ReleaseImages) {
  const desired = new Map<string, DesiredProject>();
  const out: Plan = { projects: [] };
  // what this instance deployed last counts as its own whatever the label says (a changed repository.url)
  const foreign = foreignProjects(observed, opts.instance, new Set(Object.keys(opts.prior ?? {})));
  const prerequisites = prerequisitesOf(projects);
  for (const model of projects) {
    const targets: Record<string, ServiceTarget> = {};
    const awaited = awaitedForCompletion(model);
    for (const s of Object.values(model.services)) {
      if (!s.managed) continue;
      const job = isJob(s, awaited, opts.prior?.[model.name]?.services[s.name]?.job === true);
      targets[s.name] = serviceTarget(s, pins?.[model.name]?.[s.name]?.id ?? images.get(s.image), job);
    }
    const provided = providedNetworks(model, projects, prerequisites);
    const d = { model, targets, createExternalNetworks: opts.createExternalNetworks, ...(provided.size ? { provided } : {}) };
    desired.set(model.name, d);
    const projectPlan = planProject(d, observed);
    if (opts.restricted) projectPlan.blockers.push(...foreignContainerRefs(model, observed));
    out.projects.push(projectPlan);
  }
  for (const [name, owner] of foreign) {
    if (!desired.has(name)) log.info(`${name}: deployed by another Konta instance (konta.instance=${owner}); left alone`);
  }
  if (opts.pruneRemovedApps) {
    for (const name of removedProjects(observed, new Set(desired.keys()), opts.instance, new Set(Object.keys(opts.prior ?? {})))) {
      out.projects.push(planRemoval(name, observed));
    }
  }
  out.projects = orderProjects(out.projects, desired, observed);
  const changed = out.projects.filter(projectHasChanges);
  for (const [name, after] of projectPrerequisites(changed, desired, observed)) if (after.size) (changed.find((x) => x.project === name) as ProjectPlan).after = [...after].sort(collate);
  return { desired, plan: out };
}

/** Under restrictions, joining the namespaces or volumes of a container Konta does not manage is refused. */
function foreignContainerRefs(model: LoadedProject, observed: Observed): string[] {
  const out: string[] = [];
  for (const s of Object.values(model.services)) {
    if (!s.managed) continue;
    for (const ref of containerReferences(s)) {
      const c = observed.containers.find((x) => x.name === ref.container || x.id.startsWith(ref.container));
      if (!c?.managed) {
        out.push(`${s.name}: ${ref.key}: container:${ref.container} is not a container Konta manages; forbidden on this server (deploy.allow_privileged: false)`);
      }
    }
  }
  return out;
}

/** Load the release and plan it against the engine (the services in `pins` on those images). Changes nothing. */
export async function prepare(release: ReleaseRef, opts: DeployOptions, pins?: ReleaseImages): Promise<Prepared> {
  const projects = await loadReleaseUnlocking(release.root, release.load);
  step("projects loaded");
  // what `konta check` refuses too, with no engine
  const refusals = validateEngine(projects, release.root);
  if (refusals.length) throw refused(refusals);
  for (const p of projects) for (const w of p.warnings) log.warn(w);
  const interrupted = opts.journal ? await settleInterrupted(opts.docker, new EngineJournal(opts.journal)) : [];
  const [images, observed] = await Promise.all([localImageIds(opts.docker, managedServices(projects)), observe(opts.docker)]);
  step("engine listed");
  const planned = plan(projects, images, observed, opts, pins);
  step("planned");
  settleHeap();
  return { release, projects, observed, pins, interrupted, ...planned };
}

/**
 * Pull or build what the plan needs, before anything is stopped: a missing image or a bad
 * credential fails the deploy while the old containers still serve. Returns the re-planned deploy.
 */
export async function fetchImages(p: Prepared, opts: DeployOptions, pullAlways: boolean): Promise<Prepared> {
  const images = await localImageIds(opts.docker, managedServices(p.projects));
  let fetched = false;
  const pulled = new Set<string>();
  for (const project of p.projects) {
    for (const s of Object.values(project.services)) {
      if (!s.managed) continue;
      const present = images.get(s.image) !== undefined;
      if (s.build) {
        // rebuilt only when the context or the build options changed (a hash label on the image)
        fetched = (await buildImage(opts.docker, project, s)) || fetched;
      } else if (pulled.has(s.image)) {
        continue;
      } else if ((s.pull_policy === "always" && pullAlways) || (!present && s.pull_policy !== "never")) {
        pulled.add(s.image);
        fetched = true;
        progress(`pulling ${s.image}`);
        await pullImage(opts.docker, s.image, s.platform);
      } else if (!present) {
        throw new DeployError(`image ${s.image} is not on this host and ${project.name}/${s.name} has pull_policy: never`, {
          hint: `load it first (docker load / docker pull ${s.image}) or change pull_policy`,
        });
      }
    }
  }
  failpoint("after-pull");
  if (!fetched) return p;
  const fresh = await localImageIds(opts.docker, managedServices(p.projects));
  return { ...p, ...plan(p.projects, fresh, p.observed, opts, p.pins) };
}

export class ApplyFailure extends DeployError {
  constructor(
    readonly original: unknown,
    readonly touched: string[],
    readonly summary: Summary,
    /** changed projects it never started, and why */
    readonly held: Held[] = [],
  ) {
    super(`${errorMessage(original)}${heldNote(held)}`, original instanceof KontaError ? { hint: original.hint } : {});
  }
}

/** How apply.ts converges a project of `release` (the images pinned to their IDs when restoring). */
function applyOptions(opts: DeployOptions, release: ReleaseRef | undefined, commit: string, pinImages = false): ApplyOptions {
  return {
    docker: opts.docker,
    commit,
    parallel: opts.parallel,
    gate: opts.gate,
    instance: opts.instance,
    secretFiles: release?.load.sops?.files,
    run: Buffer.from(crypto.getRandomValues(new Uint8Array(3))).toString("hex"),
    ...(opts.journal ? { journal: new EngineJournal(opts.journal) } : {}),
    ...(pinImages ? { pinImages } : {}),
  };
}

/**
 * Apply every project with changes, independent projects concurrently (up to deploy.parallel at
 * once; a project that takes a name or port another gives up waits for it). On failure nothing new
 * starts, what runs finishes, and ApplyFailure names every project touched.
 */
export async function applyPlan(p: Prepared, opts: DeployOptions, commit: string): Promise<Summary> {
  const summary = emptySummary();
  const blockers = p.plan.projects.flatMap((x) => x.blockers.map((b) => `${x.project}: ${b}`));
  // what blocks a plan (a name taken, an external network missing) is for the operator to fix: exit 2
  if (blockers.length) throw new InputError(`cannot deploy; nothing was changed:\n  ${blockers.join("\n  ")}`);
  for (const projectPlan of p.plan.projects) for (const note of projectPlan.notes) log.info(`${projectPlan.project}: ${note}`);
  const changed = p.plan.projects.filter(projectHasChanges);
  const before = new Map(changed.map((x) => [x.project, new Set(x.after)]));
  const applyOpts = applyOptions(opts, p.release, commit, !!p.pins);
  const watch = EngineWatch.start(opts.docker);
  try {
    const { started, error, failed } = await applyConcurrently(changed, before, opts.parallel, async (projectPlan) => {
      try {
        await applyProject(p.desired.get(projectPlan.project), projectPlan, applyOpts, summary);
      } catch (err) {
        summary.failed.push(projectPlan.project);
        throw err;
      }
    });
    sortSummary(summary);
    if (failed !== undefined) throw new ApplyFailure((await watch.lost()) ? engineWentAway(error) : error, started, summary, heldBack(changed, before, started, failed));
  } finally {
    watch.stop();
    // every request of the apply has been answered
    applyOpts.journal?.clear();
  }
  return summary;
}

function engineWentAway(err: unknown): UnreachableError {
  return new UnreachableError(`the Docker engine went away during the deploy (restarted or stopped); what it reported then: ${errorMessage(err)}`, {
    hint: "nothing is blamed on the commit: the next run deploys it again once the engine is back",
  });
}

/** The engine went away during the apply (restarted, crashed): nothing is the commit's fault. */
export function engineLost(err: unknown): boolean {
  return err instanceof ApplyFailure && err.original instanceof KontaError && err.original.exitCode === ExitCode.unreachable;
}

/**
 * After a failed apply (the deploy tail of `konta sync` and `konta rollback`): put the touched
 * projects back to `previous`, unless the engine went away (it stopped the containers itself; the
 * next run converges). Returns whether anything was rolled back, and whether that worked.
 */
export async function rollBackFailure(
  err: unknown,
  what: string,
  previous: ReleaseRef | undefined,
  opts: DeployOptions,
  ran: Record<string, ProjectExpectation>,
): Promise<{ rolledBack: boolean; restored: boolean }> {
  if (!(err instanceof ApplyFailure) || !err.touched.length || engineLost(err)) return { rolledBack: false, restored: false };
  log.warn(`${what} failed: ${errorMessage(err)}`);
  log.warn(`rolling back ${err.touched.join(", ")} to ${previous ? previous.sha.slice(0, 12) : "the state before"}`);
  return { rolledBack: true, restored: await restore(previous, err.touched, opts, imagesOf(ran)) };
}

/**
 * Automatic rollback: put the touched projects back to `previous` (or remove what this deploy
 * created when there was no previous release), pinning the image IDs that ran before.
 */
async function restore(previous: ReleaseRef | undefined, touched: string[], opts: DeployOptions, pins: ReleaseImages): Promise<boolean> {
  let ok = true;
  let projects: LoadedProject[];
  let images: Awaited<ReturnType<typeof localImageIds>>;
  let observed: Observed;
  try {
    // inside the try: a previous release that no longer loads must still end in a recorded failure
    projects = previous ? (await loadReleaseUnlocking(previous.root, previous.load)).filter((p) => touched.includes(p.name)) : [];
    [images, observed] = await Promise.all([localImageIds(opts.docker, managedServices(projects)), observe(opts.docker)]);
  } catch (err) {
    log.error(`automatic rollback impossible: ${errorMessage(err)}`);
    return false;
  }
  const { desired } = plan(projects, images, observed, { ...opts, pruneRemovedApps: false }, pins);
  const applyOpts = applyOptions(opts, previous, previous?.sha ?? "", true);
  for (const name of touched) {
    const d = desired.get(name);
    const projectPlan = d ? planProject(d, observed) : planRemoval(name, observed);
    try {
      await applyProject(d, projectPlan, applyOpts, emptySummary());
      log.info(`${name}: rolled back to ${previous ? previous.sha.slice(0, 12) : "nothing (it was new)"}`);
    } catch (err) {
      ok = false;
      log.error(`${name}: automatic rollback failed too: ${errorMessage(err)}`);
    }
  }
  applyOpts.journal?.clear();
  return ok;
}

/**
 * What the engine should look like after a successful deploy, for later drift checks. `after` is
 * the managed containers once the deploy is done: a one-shot service whose containers had all
 * exited 0 by then is a finished job from now on; one still running is a service to keep running.
 */
export function expectations(p: Prepared, after: ObservedContainer[]): Record<string, ProjectExpectation> {
  const out: Record<string, ProjectExpectation> = {};
  for (const model of p.projects) {
    const targets = { ...(p.desired.get(model.name)?.targets ?? {}) };
    if (!Object.keys(targets).length) continue;
    const awaited = awaitedForCompletion(model);
    for (const [name, t] of Object.entries(targets)) {
      const s = model.services[name] as ServiceModel;
      const mine = after.filter((c) => c.project === model.name && c.service === name);
      const completed = mine.length > 0 && mine.every((c) => c.state === "exited" && c.exitCode === 0);
      targets[name] = { ...t, job: isJob(s, awaited, completed) };
    }
    out[model.name] = projectExpectation(model, targets);
  }
  return out;
}

/**
 * What the services of a deployed release run, for a later `konta rollback` to it: the image IDs of
 * `expected` and, for an image that came from a registry, the `repo@digest` to pull it again by.
 */
async function ranImages(docker: DockerClient, expected: Record<string, ProjectExpectation>): Promise<ReleaseImages> {
  const out = imagesOf(expected);
  const ids = [...new Set(Object.values(out).flatMap((p) => Object.values(p).map((r) => r.id)))];
  const inspected = new Map(await Promise.all(ids.map(async (id) => [id, await inspectImage(docker, id)] as const)));
  for (const services of Object.values(out)) {
    for (const r of Object.values(services)) {
      const digests = inspected.get(r.id)?.RepoDigests ?? [];
      const repo = splitImageRef(r.image).repo;
      // another repository's digest of the same image ID pulls the very same image
      const digest = digests.find((d) => d.startsWith(`${repo}@`)) ?? digests[0];
      if (digest) r.digest = digest;
    }
  }
  return out;
}

/**
 * Before a rollback changes anything: every image the release ran is on this host, pulled again by
 * its digest when it is gone; when no registry has it, exit 1 naming the service.
 */
export async function ensureEngineImages(docker: DockerClient, pins: ReleaseImages): Promise<void> {
  // services of one image look once: this is on the way to serving the rollback
  const present = new Set<string>();
  for (const [project, services] of Object.entries(pins)) {
    for (const [service, r] of Object.entries(services)) {
      if (present.has(r.id)) continue;
      if (await inspectImage(docker, r.id)) {
        present.add(r.id);
        continue;
      }
      const gone = `${project}/${service} ran ${r.image} (${r.id.slice(0, 19)}), which is no longer on this host`;
      if (!r.digest) throw new DeployError(`${gone} and came from no registry; nothing was changed`, { hint: `load that image again, or deploy a new commit instead` });
      log.info(`${gone}; pulling ${r.digest}`);
      try {
        await pullImage(docker, r.digest);
      } catch (err) {
        throw new DeployError(`${gone} and cannot be pulled again (${errorMessage(err).split("\n")[0]}); nothing was changed`);
      }
      if (!(await inspectImage(docker, r.id))) throw new DeployError(`${gone}; ${r.digest} pulled, but it is another image; nothing was changed`);
      present.add(r.id);
    }
  }
}

/** The engine target's Convergence: plan against the containers, pull or build, apply project by project. */
export async function engineConvergence(release: ReleaseRef, opts: DeployOptions, pins?: ReleaseImages): Promise<Convergence> {
  let p = await prepare(release, opts, pins);
  const convergence: Convergence = {
    projects: p.projects,
    changed: p.plan.projects.filter(projectHasChanges).map((x) => x.project),
    plan: planView(p.plan),
    fetchImages: async (pullAlways) => {
      p = await fetchImages(p, opts, pullAlways);
      convergence.plan = planView(p.plan);
    },
    apply: (commit) => applyPlan(p, opts, commit),
    expected: async () => expectations(p, await observeContainers(opts.docker, true)),
    ran: (expected) => ranImages(opts.docker, expected),
    mounted: () => p.observed.containers.flatMap((c) => c.binds),
    interrupted: p.interrupted.length > 0,
  };
  return convergence;
}
