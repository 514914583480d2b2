// The engine's plan as a reader sees it (PlanView): per project its networks and volumes, per
// service what happens and why, and the steps apply.ts will take for it, in order.
import type { ActionView, PlanView, UnitView } from "../types.ts";
import { type Action, describeCause } from "./actions.ts";
import type { Plan, ProjectPlan } from "./plan.ts";
import { describeStep, type Step } from "./steps.ts";

function why(a: Action): string | undefined {
  if (a.type === "recreate") return `${a.causes.map(describeCause).join(", ")}${a.order ? `; ${a.order}` : ""}`;
  return "reason" in a ? a.reason : undefined;
}

function actionView(a: Action, steps: Step[]): ActionView {
  const reason = why(a);
  return {
    type: a.type,
    service: a.service,
    replica: a.number,
    ...("container" in a ? { container: a.container.name } : {}),
    ...(reason ? { why: reason } : {}),
    steps: steps.map(describeStep),
  };
}

export function unitView(p: ProjectPlan): UnitView {
  const { prelude, phases, epilogue } = p.sequence;
  const stepsOf = new Map(phases.flatMap((ph) => ph.services.flatMap((s) => s.actions.map((x) => [x.action, x.steps] as const))));
  // a container a replaced network takes with it is removed before the network: that step is its action's too
  const early = (a: Action) => prelude.filter((st) => st.op === "remove" && "container" in a && st.container.id === a.container.id);
  const resources: UnitView["resources"] = [
    ...p.networks.create.map((name) => ({ mark: "+" as const, kind: "network", name })),
    ...p.networks.recreate.map((name) => ({ mark: "~" as const, kind: "network", name, why: "definition changed" })),
    ...p.networks.remove.map((name) => ({ mark: "-" as const, kind: "network", name })),
    ...p.volumes.create.map((name) => ({ mark: "+" as const, kind: "volume", name })),
  ];
  return {
    name: p.project,
    kind: p.kind,
    resources,
    actions: p.actions.map((a) => actionView(a, [...early(a), ...(stepsOf.get(a) ?? [])])),
    unchanged: p.unchanged,
    blockers: p.blockers,
    notes: p.notes,
    ...(p.kind === "remove" && p.volumes.kept.length ? { kept: p.volumes.kept } : {}),
    ...(p.after ? { after: p.after } : {}),
    sequence: [...prelude, ...phases.flatMap((ph) => ph.services.flatMap((s) => s.actions.flatMap((x) => x.steps))), ...epilogue].map(describeStep),
  };
}

export function planView(plan: Plan): PlanView {
  return { target: "engine", units: plan.projects.map(unitView) };
}
