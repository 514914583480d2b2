// Apply a project plan to the engine: volumes and networks first, then removals (they free host
// ports), then services level by level in depends_on order (a few at once), each change behind
// the health gate. Recreate is stop-first unless the service asks for start-first.
import type { LifecycleHook, NetworkModel, ProjectModel, ServiceModel, VolumeModel } from "../../compose/model.ts";
import { execIn, type ExecResult } from "../../docker/exec.ts";
import { DeployError, errorMessage } from "../../base/errors.ts";
import type { DockerClient } from "../../docker/client.ts";
import { EngineError } from "../../docker/client.ts";
import {
  connectNetwork,
  createContainer,
  createNetwork,
  createVolume,
  disconnectNetwork,
  inspectContainer,
  inspectNetwork,
  removeContainer,
  removeNetwork,
  renameContainer,
  startContainer,
  stopContainer,
} from "../../docker/engine.ts";
import { failpoint } from "../../base/failpoint.ts";
import { log, progress } from "../../base/log.ts";
import { waitHealthy, type GateEntry } from "./health.ts";
import type { GateOptions } from "../types.ts";
import { LABEL } from "../../base/labels.ts";
import { isKontaCreated, replacedName, temporaryName } from "./labels.ts";
import { claimName, type EngineJournal } from "./journal.ts";
import type { ObservedContainer } from "./observe.ts";
import { forEachLimit } from "./order.ts";
import { type Action, type DesiredProject, describeCause, isOneShot, networkHash, type ProjectPlan } from "./plan.ts";
import type { Sequenced, Step, Subject } from "./steps.ts";
import { writeSecretFiles } from "./secret-files.ts";
import { containerSpec, EngineFeatureError, type InspectedMount, inheritAnonymousVolumes } from "./spec.ts";
import type { Summary } from "../../base/summary.ts";

export interface ApplyOptions {
  docker: DockerClient;
  commit: string;
  parallel: number;
  gate: GateOptions;
  pinImages?: boolean;
  instance?: string;
  /** decrypted SOPS secret files of this run, by host path (SopsKeyring.files) */
  secretFiles?: Map<string, string>;
  /** unique to this apply: the temporary names of its recreates (see temporaryName) */
  run: string;
  /** where each create is written down before it is sent (see journal.ts) */
  journal?: EngineJournal;
}

const DEFAULT_STOP_SECONDS = 10;

function runHook(docker: DockerClient, id: string, h: LifecycleHook, timeoutMs: number): Promise<ExecResult> {
  progress(`exec in ${id.slice(0, 12)}: ${h.command.join(" ")}`);
  return execIn(docker, id, h, timeoutMs);
}

function hookFailure(r: { exitCode: number | undefined }, timeoutMs: number): string {
  return r.exitCode === undefined ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : `exited with status ${r.exitCode}`;
}

function stopSeconds(s: ServiceModel | undefined): number {
  return s?.stop_grace_period === undefined ? DEFAULT_STOP_SECONDS : Math.ceil(s.stop_grace_period / 1e9);
}

function explainNetworkError(err: unknown, name: string): unknown {
  if (err instanceof EngineError && /available, non-overlapping|address pool/i.test(err.engineMessage)) {
    return new DeployError(`cannot create network ${name}: the engine's address pools are exhausted (${err.engineMessage})`, {
      hint:
        "every app gets its own network and a default engine has room for about 31. Either give the engine more room with " +
        '"default-address-pools" in /etc/docker/daemon.json (e.g. {"default-address-pools":[{"base":"10.128.0.0/9","size":24}]}, then restart Docker), ' +
        "or let apps share one network: networks: { default: { name: shared, external: true } } after `docker network create shared`",
    });
  }
  return err;
}

/**
 * External networks being created by this run, by name: projects converge concurrently, and the
 * engine's duplicate check is not atomic (two creates at once make two networks of one name, and
 * every container start on it then fails as "ambiguous").
 */
const externalCreates = new Map<string, Promise<void>>();

export async function createNetworkFor(docker: DockerClient, project: string, key: string, n: NetworkModel): Promise<void> {
  if (!n.external) return createNetworkOnce(docker, project, key, n);
  const pending = externalCreates.get(n.name) ?? createNetworkOnce(docker, project, key, n);
  externalCreates.set(n.name, pending);
  try {
    await pending;
  } finally {
    if (externalCreates.get(n.name) === pending) externalCreates.delete(n.name);
  }
}

async function createNetworkOnce(docker: DockerClient, project: string, key: string, n: NetworkModel): Promise<void> {
  // an external network is shared: another project of this deploy may have created it already,
  // and it belongs to no project (removing an app must not remove it)
  if (n.external && (await inspectNetwork(docker, n.name))) return;
  const owner = n.external ? { [LABEL.external]: "true" } : { [LABEL.project]: project, [LABEL.network]: key, [LABEL.networkHash]: networkHash(n) };
  const ipam = n.ipam
    ? {
        Driver: n.ipam.driver ?? "default",
        Config: (n.ipam.config ?? []).map((c) => ({ Subnet: c.subnet, IPRange: c.ip_range, Gateway: c.gateway, AuxiliaryAddresses: c.aux_addresses })),
        Options: n.ipam.options ?? {},
      }
    : undefined;
  try {
    await createNetwork(docker, {
      Name: n.name,
      Driver: n.driver ?? "bridge",
      Options: n.driver_opts ?? {},
      ...(ipam ? { IPAM: ipam } : {}),
      Internal: n.internal ?? false,
      Attachable: n.attachable ?? false,
      EnableIPv6: n.enable_ipv6 ?? false,
      ...(n.enable_ipv4 !== undefined && docker.atLeast("1.47") ? { EnableIPv4: n.enable_ipv4 } : {}),
      Labels: { ...(n.labels ?? {}), ...owner, [LABEL.managed]: "true" },
    });
  } catch (err) {
    // another run (or a person) created it meanwhile
    if (n.external && err instanceof EngineError && err.status === 409 && (await inspectNetwork(docker, n.name))) return;
    throw explainNetworkError(err, n.name);
  }
}

async function createVolumeFor(docker: DockerClient, project: string, key: string, v: VolumeModel): Promise<void> {
  await createVolume(docker, {
    Name: v.name,
    Driver: v.driver ?? "local",
    DriverOpts: v.driver_opts ?? {},
    Labels: { ...(v.labels ?? {}), [LABEL.project]: project, [LABEL.volume]: key, [LABEL.managed]: "true" },
  });
}

class ProjectApplier {
  readonly gate: GateEntry[] = [];
  /** mounts of the containers a step removed or an action replaces: what the new ones inherit */
  private readonly mounts = new Map<string, InspectedMount[]>();

  constructor(
    private readonly desired: DesiredProject | undefined,
    private readonly opts: ApplyOptions,
    private readonly summary: Summary,
  ) {}

  private get model(): ProjectModel | undefined {
    return this.desired?.model;
  }

  private label(a: { service: string; number: number }): string {
    const s = this.model?.services[a.service];
    return s && s.replicas > 1 ? `${this.model?.name}/${a.service}#${a.number}` : `${this.model?.name ?? "?"}/${a.service}`;
  }

  /**
   * Stop a container, its pre_stop hooks first (those it was created with, from its label). A
   * failing one is reported and the stop goes on: the hooks of a release being replaced must not
   * block the commit that fixes them.
   */
  private async stop(c: ObservedContainer): Promise<void> {
    const seconds = stopSeconds(this.model?.services[c.service ?? ""]);
    const raw = c.labels[LABEL.preStop];
    if (raw && c.state === "running") {
      let hooks: LifecycleHook[] = [];
      try {
        hooks = JSON.parse(raw) as LifecycleHook[];
      } catch {
        log.warn(`${c.name}: its ${LABEL.preStop} label is not JSON; stopping it without pre_stop hooks`);
      }
      for (const [i, h] of hooks.entries()) {
        const r = await runHook(this.opts.docker, c.id, h, seconds * 1000).catch((err: unknown) => ({ exitCode: -1, output: errorMessage(err) }));
        if (r.exitCode !== 0) log.warn(`${c.name}: pre_stop[${i}] (${h.command.join(" ")}) ${hookFailure(r, seconds * 1000)}; stopping it anyway`);
      }
    }
    await stopContainer(this.opts.docker, c.id, c.name, seconds);
  }

  /** Create (and connect) a container for replica `n`, under `name`; `inherit`: the replaced container's mounts. Returns its ID. */
  private async create(s: ServiceModel, n: number, name: string, inherit?: InspectedMount[]): Promise<string> {
    const model = this.model as ProjectModel;
    const target = this.desired?.targets[s.name];
    if (!target?.imageId) throw new DeployError(`image ${s.image} for ${model.name}/${s.name} is not present on this host`);
    let spec;
    try {
      spec = containerSpec(s, n, { project: model, commit: this.opts.commit, imageId: target.imageId, configHash: target.hash, apiVersion: this.opts.docker.apiVersion, pinImage: this.opts.pinImages, instance: this.opts.instance });
    } catch (err) {
      if (err instanceof EngineFeatureError) throw new DeployError(`${model.name}/${s.name}: ${err.message}`);
      throw err;
    }
    if (inherit) inheritAnonymousVolumes(spec.body, inherit, new Set(Object.values(model.volumes).map((v) => v.name)));
    writeSecretFiles(s, this.opts.secretFiles);
    this.opts.journal?.intend({ name, image: target.imageId });
    const id = await this.claiming(name, s.name, () => createContainer(this.opts.docker, name, spec.body, spec.platform));
    for (const c of spec.connect) await connectNetwork(this.opts.docker, c.network, id, c.endpoint);
    return id;
  }

  /** A name of this service's that a container an interrupted run left still holds is taken from it. */
  private claiming<T>(name: string, service: string, request: () => Promise<T>): Promise<T> {
    const project = this.model?.name;
    return claimName(this.opts.docker, name, (labels) => labels[LABEL.project] === project && labels[LABEL.service] === service && isKontaCreated(labels), request);
  }

  /** Start a container; it joins the project's gate unless `alone`, which waits for this one alone. */
  private async start(id: string, name: string, s: ServiceModel, alone = false): Promise<void> {
    await startContainer(this.opts.docker, id, name);
    // post_start hooks in order, each to its end; a failing one fails the service's gate
    for (const [i, h] of (s.post_start ?? []).entries()) {
      const r = await runHook(this.opts.docker, id, h, this.opts.gate.timeoutMs);
      if (r.exitCode !== 0) {
        throw new DeployError(`${this.model?.name}/${s.name}: post_start[${i}] (${h.command.join(" ")}) ${hookFailure(r, this.opts.gate.timeoutMs)}`, {
          hint: r.output ? `its last output:\n${r.output.split("\n").slice(-8).map((l) => `    ${l}`).join("\n")}` : undefined,
        });
      }
    }
    const entry = { id, name, service: s.name, oneShot: isOneShot(s) };
    // services apply in parallel: a shared list is no place to take "my" entry back from
    if (alone) await waitHealthy(this.opts.docker, [entry], this.opts.gate);
    else this.gate.push(entry);
  }

  /** A step outside any action: volumes, networks, the containers a replaced network takes with it. */
  async step(st: Step): Promise<void> {
    const model = this.model;
    switch (st.op) {
      case "create-volume":
        return createVolumeFor(this.opts.docker, model?.name as string, st.key, model?.volumes[st.key] as VolumeModel);
      case "create-network":
        return createNetworkFor(this.opts.docker, model?.name as string, st.key, model?.networks[st.key] as NetworkModel);
      case "remove-network":
        return this.removeNetwork(st.name, st.why === "its definition changed");
      case "remove":
        progress(`${st.container.name}: removing (${st.why})`);
        if (st.keepMounts) this.mounts.set(st.container.id, (await inspectContainer(this.opts.docker, st.container.id))?.Mounts ?? []);
        if (!st.stopped) await this.stop(st.container);
        return removeContainer(this.opts.docker, st.container.id, st.container.name);
      default:
        throw new Error(`step ${st.op} belongs to an action`);
    }
  }

  private async removeNetwork(name: string, replacing: boolean): Promise<void> {
    if (replacing) log.info(`network ${name}: recreating (definition changed)`);
    try {
      await removeNetwork(this.opts.docker, name, name);
      if (!replacing) log.info(`network ${name}: removed`);
    } catch (err) {
      if (!replacing) return log.warn(`network ${name}: not removed (${errorMessage(err)})`);
      throw new DeployError(`cannot replace network ${name}: ${errorMessage(err)}`, { hint: `other containers are still attached; see: docker network inspect ${name}` });
    }
  }

  /** One action's steps, in order; the summary learns what it did. */
  async action(a: Action, steps: Sequenced[]): Promise<void> {
    const s = this.model?.services[a.service];
    const label = this.label(a);
    const inherit = steps.find((st): st is Extract<Step, { op: "create" }> => st.op === "create")?.inherit;
    // the replaced container's mounts are read before the action starts: a kill after its first
    // line of output finds the create about to be sent, as the fault tests expect
    if (inherit && !this.mounts.has(inherit.id)) this.mounts.set(inherit.id, (await inspectContainer(this.opts.docker, inherit.id))?.Mounts ?? []);
    progress(actionLine(a, steps));
    let created = "";
    const id = (c: Subject) => (c === "new" ? created : c.existing.id);
    const name = (c: Subject, fallback: string) => (c === "new" ? fallback : c.existing.name);
    for (const st of steps) {
      switch (st.op) {
        case "create":
          created = await this.create(s as ServiceModel, a.number, st.temporary ? temporaryName(inherit?.id ?? "", this.opts.run, st.name) : st.name, inherit ? this.mounts.get(inherit.id) : undefined);
          break;
        case "start":
          await this.start(id(st.container), name(st.container, a.type === "recreate" || a.type === "create" ? nameOf(steps) : a.service), s as ServiceModel, st.alone);
          break;
        case "stop":
          if (a.type === "recreate") progress(`${st.container.name}: stopping (replaced)`);
          await this.stop(st.container);
          break;
        case "disconnect":
          for (const net of st.container.networks) await disconnectNetwork(this.opts.docker, net, st.container.id);
          break;
        case "rename":
          await this.claiming(st.to === "final" ? st.name : replacedName(created, st.name), a.service, () => renameContainer(this.opts.docker, id(st.container), st.to === "final" ? st.name : replacedName(created, st.name)));
          break;
        case "remove":
          if (!st.stopped) await this.stop(st.container);
          await removeContainer(this.opts.docker, st.container.id, st.container.name);
          break;
        default:
          await this.step(st);
      }
      if (st.failpoint) failpoint(st.failpoint);
    }
    const into = { create: this.summary.added, recreate: this.summary.updated, start: this.summary.started, restart: this.summary.started, stop: this.summary.stopped, remove: this.summary.removed }[a.type];
    into.push(label);
  }
}

/** The final name an action's create step gives (for messages). */
function nameOf(steps: Step[]): string {
  const c = steps.find((st): st is Extract<Step, { op: "create" }> => st.op === "create");
  return c?.name ?? "";
}

/** The line `konta sync --now` prints as an action starts. */
function actionLine(a: Action, steps: Step[]): string {
  switch (a.type) {
    case "remove":
      return `${a.container.name}: removing (${a.reason})`;
    case "stop":
      return `${a.container.name}: stopping (${a.reason})`;
    case "restart":
      return `${a.container.name}: restarting (${a.reason})`;
    case "start":
      return `${a.container.name}: starting`;
    case "create":
      return `${nameOf(steps)}: creating`;
    case "recreate":
      return `${nameOf(steps)}: recreating (${a.causes.map(describeCause).join(", ")}; ${a.order ?? "stop-first"})`;
  }
}

/** Apply one project's plan: its steps in order (steps.ts). Throws DeployError on the first failure; `summary` says what was done. */
export async function applyProject(desired: DesiredProject | undefined, plan: ProjectPlan, opts: ApplyOptions, summary: Summary): Promise<void> {
  const applier = new ProjectApplier(desired, opts, summary);
  const { prelude, phases, epilogue } = plan.sequence;
  for (const st of prelude) await applier.step(st);
  for (const phase of phases) {
    await forEachLimit(phase.services, opts.parallel, async ({ actions }) => {
      // replicas one after another: a rolling update
      for (const { action, steps } of actions) await applier.action(action, steps);
    });
    const ready = applier.gate.filter((g) => phase.wait.includes(g.service));
    if (ready.length) await waitHealthy(opts.docker, ready, opts.gate);
  }
  if (applier.gate.length) await waitHealthy(opts.docker, applier.gate, opts.gate);
  for (const st of epilogue) await applier.step(st);
  if (plan.kind === "remove" && plan.volumes.kept.length) {
    log.info(`${plan.project}: kept volumes ${plan.volumes.kept.join(", ")} (remove them with: docker volume rm ${plan.volumes.kept.join(" ")})`);
  }
}
