// What the plan decides for one container, and why (docker/compose pkg/compose/plan.go gives every
// step a cause too): the words of plan.ts, steps.ts and drift.ts.
import type { ObservedContainer } from "./observe.ts";

/** Why a container is recreated (docker/compose pkg/compose/plan.go gives every step a cause too). */
export type Cause =
  | { kind: "config" }
  | { kind: "image" }
  /** its network is replaced (a changed definition): the container goes with it */
  | { kind: "network"; network: string }
  /** it joins another service's container by ID (network_mode/ipc/pid service:, volumes_from), which is recreated */
  | { kind: "bound"; service: string }
  | { kind: "renamed"; name: string; expected: string };

export function describeCause(c: Cause): string {
  switch (c.kind) {
    case "config":
      return "config changed";
    case "image":
      return "image changed";
    case "network":
      return `network ${c.network} changed`;
    case "bound":
      return `${c.service} is recreated`;
    case "renamed":
      return `named ${c.name}, expected ${c.expected}`;
  }
}

/** A create: the container is missing, or it went with its replaced network (counted as an update). */
export type CreateReason = "missing" | "network replaced";

export type Action =
  | { type: "create"; service: string; number: number; reason: CreateReason }
  | { type: "recreate"; service: string; number: number; container: ObservedContainer; causes: Cause[]; order?: "start-first" }
  | { type: "start"; service: string; number: number; container: ObservedContainer }
  | { type: "stop"; service: string; number: number; container: ObservedContainer; reason: string }
  | { type: "restart"; service: string; number: number; container: ObservedContainer; reason: string }
  | { type: "remove"; service: string; number: number; container: ObservedContainer; reason: string };
