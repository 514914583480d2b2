// How a project's plan is carried out, as data: the engine requests in the order apply.ts sends
// them. Volumes and networks first (a changed network: its containers removed, the network
// replaced), then the services of removed ones (they free host ports and names), then the
// services level by level in depends_on order, each action's own sequence (a recreate start-first
// or stop-first), waits on the services others depend on being healthy, and the networks no longer
// used last. Pure: `konta plan` prints these steps, apply.ts executes them and decides nothing.
import type { ProjectModel, ServiceModel } from "../../compose/model.ts";
import type { RecreateStep } from "../../base/failpoint.ts";
import type { ObservedContainer } from "./observe.ts";
import { startLevels } from "./order.ts";
import type { Action } from "./actions.ts";

/** The container a step acts on: one the engine has, or the one this action created. */
export type Subject = { existing: ObservedContainer } | "new";

export type Step =
  | { op: "create-volume"; key: string; name: string }
  | { op: "create-network"; key: string; name: string }
  | { op: "remove-network"; name: string; why: string }
  /** creates the action's new container (under a temporary name while the old one still holds the name), its anonymous volumes from `inherit` */
  | { op: "create"; name: string; temporary: boolean; inherit?: ObservedContainer }
  /** `alone`: wait for this container's health gate now (start-first); otherwise it joins the project's gate */
  | { op: "start"; container: Subject; alone?: boolean }
  | { op: "stop"; container: ObservedContainer; why?: string }
  /** off every network, so new connections reach only the new container */
  | { op: "disconnect"; container: ObservedContainer }
  /** `aside`: out of the way of the new container (`<new id>_replaced_<name>`); `final`: the service's name */
  | { op: "rename"; container: Subject; to: "aside" | "final"; name: string }
  /** stopped (its pre_stop hooks first, unless an earlier step `stopped` it) and removed; `keepMounts`: its mounts go to a container created later */
  | { op: "remove"; container: ObservedContainer; why: string; keepMounts?: boolean; stopped?: boolean };

/** A step of a recreate, with the crash point after it (the fault tests SIGKILL there). */
export type Sequenced = Step & { failpoint?: RecreateStep };

export interface ServiceSteps {
  service: string;
  /** each action's steps, replicas one after another (a rolling update) */
  actions: { action: Action; steps: Sequenced[] }[];
}

export interface Phase {
  /** services side by side (up to deploy.parallel), each one's steps in order */
  services: ServiceSteps[];
  /** then: wait until the new containers of these services pass their gate (others depend on them being healthy) */
  wait: string[];
}

export interface Sequence {
  prelude: Step[];
  phases: Phase[];
  /** after every phase and the project's health gate */
  epilogue: Step[];
}

/** The steps of one action; `replacedNetworks`: a recreate for one of these had its container removed in the prelude. */
export function actionSteps(a: Action, s: ServiceModel | undefined, name: string, replacedNetworks: Set<string>): Sequenced[] {
  const start = s && !s.stopped ? [{ op: "start", container: "new" } as const] : [];
  switch (a.type) {
    case "remove":
      return [{ op: "remove", container: a.container, why: a.reason }];
    case "stop":
      return [{ op: "stop", container: a.container, why: a.reason }];
    case "start":
      return [{ op: "start", container: { existing: a.container } }];
    case "restart":
      return [
        { op: "stop", container: a.container, why: a.reason },
        { op: "start", container: { existing: a.container } },
      ];
    case "create":
      return [{ op: "create", name, temporary: false }, ...start];
    case "recreate": {
      const old = a.container;
      // its network is replaced: the old container went before it, in the prelude
      if (a.causes.some((c) => c.kind === "network" && replacedNetworks.has(c.network))) return [{ op: "create", name, temporary: false, inherit: old }, ...start];
      const create: Sequenced = { op: "create", name, temporary: true, inherit: old, failpoint: "recreate:created" };
      if (a.order === "start-first" && start.length) {
        return [
          create,
          { op: "start", container: "new", alone: true, failpoint: "recreate:started" },
          { op: "disconnect", container: old, failpoint: "recreate:old-disconnected" },
          { op: "remove", container: old, why: "replaced", failpoint: "recreate:old-removed" },
          { op: "rename", container: "new", to: "final", name, failpoint: "recreate:done" },
        ];
      }
      // the service is down from the stop on: the new container takes the name and starts at once,
      // the old one is removed after (renaming a container that runs, or has just exited, races
      // with the engine's own clean-up; stopped or never started ones do not)
      return [
        create,
        { op: "stop", container: old, why: "replaced", failpoint: "recreate:old-stopped" },
        { op: "rename", container: { existing: old }, to: "aside", name, failpoint: "recreate:old-renamed" },
        { op: "rename", container: "new", to: "final", name, failpoint: "recreate:renamed" },
        ...start.map((x) => ({ ...x, failpoint: "recreate:started" as const })),
        { op: "remove", container: old, why: "replaced", stopped: true, failpoint: "recreate:done" },
      ];
    }
  }
}

/** Order a project plan's actions into steps. */
export function sequence(plan: { networks: { create: string[]; recreate: string[]; remove: string[] }; volumes: { create: string[] }; actions: Action[] }, model: ProjectModel | undefined, nameOf: (a: Action) => string): Sequence {
  const replaced = new Set(plan.networks.recreate);
  const prelude: Step[] = plan.volumes.create.map((key) => ({ op: "create-volume", key, name: model?.volumes[key]?.name ?? key }));
  for (const key of plan.networks.recreate) {
    const name = model?.networks[key]?.name ?? key;
    for (const a of plan.actions) {
      if (a.type === "recreate" && a.causes.some((c) => c.kind === "network" && c.network === key)) prelude.push({ op: "remove", container: a.container, why: `network ${key} changed`, keepMounts: true });
    }
    prelude.push({ op: "remove-network", name, why: "its definition changed" }, { op: "create-network", key, name });
  }
  for (const key of plan.networks.create) prelude.push({ op: "create-network", key, name: model?.networks[key]?.name ?? key });

  const stepsOf = (service: string, actions: Action[]): ServiceSteps => ({
    service,
    actions: actions.map((action) => ({ action, steps: actionSteps(action, model?.services[service], nameOf(action), replaced) })),
  });
  const byService = (actions: Action[]) => {
    const out = new Map<string, Action[]>();
    for (const a of actions) out.set(a.service, [...(out.get(a.service) ?? []), a]);
    return out;
  };
  const phases: Phase[] = [];
  // removals of services gone from the model first: they free host ports and names
  const gone = byService(plan.actions.filter((a) => a.type === "remove" && !model?.services[a.service]));
  if (gone.size) phases.push({ services: [...gone].map(([service, actions]) => stepsOf(service, actions)), wait: [] });
  if (model) {
    const rest = byService(plan.actions.filter((a) => !(a.type === "remove" && !model.services[a.service])));
    const managed = Object.values(model.services).filter((s) => s.managed);
    const needsReady = new Set(managed.flatMap((s) => Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition !== "service_started").map(([name]) => name)));
    for (const level of startLevels(managed)) {
      const services = level.filter((service) => rest.has(service)).map((service) => stepsOf(service, rest.get(service) ?? []));
      // a wait only for what this level starts
      const wait = services.filter((x) => needsReady.has(x.service) && x.actions.some((y) => y.steps.some((st) => st.op === "start" && !st.alone))).map((x) => x.service);
      if (services.length) phases.push({ services, wait });
    }
  }
  const epilogue: Step[] = plan.networks.remove.map((name) => ({ op: "remove-network", name, why: "no longer used" }));
  return { prelude, phases, epilogue };
}

/** One step as `konta plan` prints it. */
export function describeStep(st: Step): string {
  const who = (c: Subject) => (c === "new" ? "the new container" : c.existing.name);
  switch (st.op) {
    case "create-volume":
      return `create volume ${st.name}`;
    case "create-network":
      return `create network ${st.name}`;
    case "remove-network":
      return `remove network ${st.name} (${st.why})`;
    case "create":
      return `create ${st.name}${st.temporary ? " under a temporary name" : ""}${st.inherit ? ` with ${st.inherit.name}'s anonymous volumes` : ""}`;
    case "start":
      return `start ${who(st.container)}${st.alone ? " and wait for its health gate" : ""}`;
    case "stop":
      return `stop ${st.container.name}`;
    case "disconnect":
      return `disconnect ${st.container.name} from its networks`;
    case "rename":
      return st.to === "final" ? `rename ${who(st.container)} to ${st.name}` : `rename ${who(st.container)} aside`;
    case "remove":
      return `remove ${st.container.name} (${st.why})`;
  }
}
