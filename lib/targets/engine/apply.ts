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
import { containerName, isKontaCreated, replacedName, temporaryName } from "./labels.ts";
import { claimName, type EngineJournal } from "./journal.ts";
import type { ObservedContainer } from "./observe.ts";
import { forEachLimit, startLevels } from "./order.ts";
import { type Action, type DesiredProject, describeCause, isOneShot, networkHash, type ProjectPlan } from "./plan.ts";
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

  async remove(c: ObservedContainer, why: string): Promise<void> {
    progress(`${c.name}: removing (${why})`);
    await this.stop(c, stopSeconds(this.model?.services[c.service ?? ""]));
    await removeContainer(this.opts.docker, c.id, c.name);
  }

  /**
   * Stop a container, its pre_stop hooks first (those it was created with, from its label). A
   * failing one is reported and the stop goes on: the hooks of a release being replaced must not
   * block the commit that fixes them.
   */
  private async stop(c: ObservedContainer, seconds: number): Promise<void> {
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

  /** Mounts of containers removed ahead of their replacement (a replaced network), by service#number. */
  readonly removedMounts = new Map<string, InspectedMount[]>();

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
    const id = await this.claiming(name, s, () => createContainer(this.opts.docker, name, spec.body, spec.platform));
    for (const c of spec.connect) await connectNetwork(this.opts.docker, c.network, id, c.endpoint);
    return id;
  }

  /** A name of this service's that a container an interrupted run left still holds is taken from it. */
  private claiming<T>(name: string, s: ServiceModel, request: () => Promise<T>): Promise<T> {
    const project = this.model?.name;
    return claimName(this.opts.docker, name, (labels) => labels[LABEL.project] === project && labels[LABEL.service] === s.name && isKontaCreated(labels), request);
  }

  private rename(id: string, name: string, s: ServiceModel): Promise<void> {
    return this.claiming(name, s, () => renameContainer(this.opts.docker, id, name));
  }

  /** Start a container; it joins the project's gate unless `gateNow`, which waits for this one alone. */
  private async start(id: string, name: string, s: ServiceModel, gateNow = false): Promise<void> {
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
    if (gateNow) await waitHealthy(this.opts.docker, [entry], this.opts.gate);
    else this.gate.push(entry);
  }

  async action(a: Action): Promise<void> {
    const s = this.model?.services[a.service];
    const label = this.label(a);
    switch (a.type) {
      case "remove":
        await this.remove(a.container, a.reason);
        this.summary.removed.push(label);
        return;
      case "stop":
        progress(`${a.container.name}: stopping (${a.reason})`);
        await this.stop(a.container, stopSeconds(s));
        this.summary.stopped.push(label);
        return;
      case "restart":
        progress(`${a.container.name}: restarting (${a.reason})`);
        await this.stop(a.container, stopSeconds(s));
        await this.start(a.container.id, a.container.name, s as ServiceModel);
        this.summary.started.push(label);
        return;
      case "start":
        progress(`${a.container.name}: starting`);
        await this.start(a.container.id, a.container.name, s as ServiceModel);
        this.summary.started.push(label);
        return;
      case "create": {
        const svc = s as ServiceModel;
        const name = containerName(this.model?.name as string, a.service, a.number, svc.container_name);
        progress(`${name}: creating`);
        const id = await this.create(svc, a.number, name, this.removedMounts.get(`${a.service}#${a.number}`));
        if (!svc.stopped) await this.start(id, name, svc);
        (a.reason === "network replaced" ? this.summary.updated : this.summary.added).push(label);
        return;
      }
      case "recreate": {
        const svc = s as ServiceModel;
        const name = containerName(this.model?.name as string, a.service, a.number, svc.container_name);
        const order = svc.update_order;
        const mounts = (await inspectContainer(this.opts.docker, a.container.id))?.Mounts;
        progress(`${name}: recreating (${a.causes.map(describeCause).join(", ")}; ${order})`);
        const id = await this.create(svc, a.number, temporaryName(a.container.id, this.opts.run, name), mounts);
        failpoint("recreate:created");
        if (order === "start-first" && !svc.stopped) {
          await this.start(id, name, svc, true);
          failpoint("recreate:started");
          // out of DNS and off the networks first, so new connections only reach the new container
          for (const net of a.container.networks) await disconnectNetwork(this.opts.docker, net, a.container.id);
          failpoint("recreate:old-disconnected");
          await this.remove(a.container, "replaced");
          failpoint("recreate:old-removed");
          await this.rename(id, name, svc);
        } else {
          // the service is down from the stop on: the new container takes the name and starts at
          // once, the old one is removed after (renaming a container that runs, or has just
          // exited, races with the engine's own clean-up; stopped or never started ones do not)
          progress(`${a.container.name}: stopping (replaced)`);
          await this.stop(a.container, stopSeconds(svc));
          failpoint("recreate:old-stopped");
          await this.rename(a.container.id, replacedName(id, name), svc);
          failpoint("recreate:old-renamed");
          await this.rename(id, name, svc);
          failpoint("recreate:renamed");
          if (!svc.stopped) await this.start(id, name, svc);
          failpoint("recreate:started");
          await removeContainer(this.opts.docker, a.container.id, a.container.name);
        }
        failpoint("recreate:done");
        this.summary.updated.push(label);
        return;
      }
    }
  }
}

/** Apply one project's plan. Throws DeployError on the first failure; `summary` says what was done. */
export async function applyProject(desired: DesiredProject | undefined, plan: ProjectPlan, opts: ApplyOptions, summary: Summary): Promise<void> {
  const { docker } = opts;
  const applier = new ProjectApplier(desired, opts, summary);
  const model = desired?.model;

  if (model) {
    for (const key of plan.volumes.create) await createVolumeFor(docker, model.name, key, model.volumes[key] as VolumeModel);
    // a changed network is replaced: its containers go first, then the network, then everything is recreated on the new one
    for (const key of plan.networks.recreate) {
      const n = model.networks[key] as NetworkModel;
      for (const a of plan.actions) {
        if (a.type === "recreate" && a.causes.some((c) => c.kind === "network" && c.network === key)) {
          applier.removedMounts.set(`${a.service}#${a.number}`, (await inspectContainer(docker, a.container.id))?.Mounts ?? []);
          await applier.remove(a.container, `network ${key} changed`);
        }
      }
      log.info(`network ${n.name}: recreating (definition changed)`);
      try {
        await removeNetwork(docker, n.name, n.name);
      } catch (err) {
        throw new DeployError(`cannot replace network ${n.name}: ${errorMessage(err)}`, {
          hint: `other containers are still attached; see: docker network inspect ${n.name}`,
        });
      }
      await createNetworkFor(docker, model.name, key, n);
    }
    for (const key of plan.networks.create) await createNetworkFor(docker, model.name, key, model.networks[key] as NetworkModel);
  }

  // a container whose network was replaced went with it: it is created, not recreated
  const replaced = new Set(plan.networks.recreate);
  const actions = plan.actions.map((a): Action =>
    a.type === "recreate" && a.causes.some((c) => c.kind === "network" && replaced.has(c.network)) ? { type: "create", service: a.service, number: a.number, reason: "network replaced" } : a,
  );

  // removals first: they free host ports and names for what comes next
  const removals = actions.filter((a) => a.type === "remove" && !model?.services[a.service]);
  await forEachLimit(removals, opts.parallel, (a) => applier.action(a));

  if (model) {
    const byService = new Map<string, Action[]>();
    for (const a of actions) if (!removals.includes(a)) byService.set(a.service, [...(byService.get(a.service) ?? []), a]);
    const managed = Object.values(model.services).filter((s) => s.managed);
    const needsReady = new Set(
      managed.flatMap((s) => Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition !== "service_started").map(([name]) => name)),
    );
    for (const level of startLevels(managed)) {
      await forEachLimit(level, opts.parallel, async (service) => {
        // replicas one after another: a rolling update
        for (const a of byService.get(service) ?? []) await applier.action(a);
      });
      const ready = applier.gate.filter((g) => level.includes(g.service) && needsReady.has(g.service));
      if (ready.length) await waitHealthy(docker, ready, opts.gate);
    }
  }
  if (applier.gate.length) await waitHealthy(docker, applier.gate, opts.gate);

  for (const name of plan.networks.remove) {
    try {
      await removeNetwork(docker, name, name);
      log.info(`network ${name}: removed`);
    } catch (err) {
      log.warn(`network ${name}: not removed (${errorMessage(err)})`);
    }
  }
  if (plan.kind === "remove" && plan.volumes.kept.length) {
    log.info(`${plan.project}: kept volumes ${plan.volumes.kept.join(", ")} (remove them with: docker volume rm ${plan.volumes.kept.join(" ")})`);
  }
}
