// A swarm plan as a reader sees it (PlanView): per stack its networks, configs and secrets, per
// service what happens and why, and the requests apply sends (stack.ts applyStacks), in order.
import type { ActionView, PlanView, UnitView } from "../types.ts";
import type { ServiceStep, StackPlan } from "./stack.ts";

/** The image a spec runs. */
const imageOf = (spec: { TaskTemplate: Record<string, unknown> }) => (spec.TaskTemplate.ContainerSpec as { Image?: string }).Image;

function actionView(stack: string, x: ServiceStep): ActionView {
  const name = `${stack}_${x.service}`;
  if (x.op === "remove") return { type: "remove", service: x.service, container: x.current.name, why: "not in the release", steps: [`remove service ${x.current.name}`] };
  if (x.op === "create") return { type: "create", service: x.service, steps: [`create service ${name}`] };
  // a service pinned to another digest of its tag: the model did not change, the image did
  const [was, now] = [imageOf(x.current.spec), imageOf(x.spec)];
  return {
    type: "update",
    service: x.service,
    container: x.current.name,
    why: x.cause,
    ...(was !== now ? { details: [`image: ${JSON.stringify(was)} -> ${JSON.stringify(now)}`] } : {}),
    steps: [`update service ${name}`],
  };
}

export function stackView(p: StackPlan): UnitView {
  const resources: UnitView["resources"] = [...p.networks.map((n) => ({ mark: "+" as const, kind: "network", name: n.Name as string })), ...p.objects.map((o) => ({ mark: "+" as const, kind: o.kind, name: o.name }))];
  const actions = p.steps.map((x) => actionView(p.stack, x));
  const changed = resources.length > 0 || actions.length > 0;
  return {
    name: p.stack,
    kind: p.kind,
    noun: "stack",
    resources,
    actions,
    unchanged: p.unchanged,
    blockers: p.blockers,
    notes: [],
    ...(p.after ? { after: p.after } : {}),
    sequence: changed
      ? [
          ...resources.map((r) => `create ${r.kind} ${r.name}`),
          ...actions.flatMap((a) => a.steps),
          ...(actions.some((a) => a.type !== "remove") ? ["wait until every created or updated service has converged"] : []),
          "remove the stack's configs and secrets no service uses",
          ...(p.kind === "remove" ? [`remove the stack's networks`] : []),
        ]
      : [],
  };
}

export function swarmPlanView(stacks: StackPlan[]): PlanView {
  return { target: "swarm", units: stacks.map(stackView) };
}
