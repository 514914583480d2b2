// Field converters of the normaliser: numbers, sizes, durations, commands, healthcheck, restart
// policy, device requests, and the sorted/compacted map helpers the model's canonical form needs.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { scalarString, type Raw } from "./canonical.ts";
import { at } from "./errors.ts";
import type { DeviceRequest, HealthcheckModel, RestartPolicy, SwarmDeployModel, SwarmUpdateModel } from "./model.ts";
import { shellSplit } from "./shellwords.ts";
import { parseBytes, parseDuration } from "./units.ts";

export const sortedUnique = (list: string[]) => [...new Set(list)].sort();
export const sortedMap = <T>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
export const stringMap = (m: Record<string, unknown>) => sortedMap(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === null ? "" : scalarString(v)])));
export const nonEmpty = <T extends object>(v: T | undefined): T | undefined => (v && Object.keys(v).length ? v : undefined);

export function number(v: unknown, what: string): number {
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`${what} must be a number, got "${v}"`);
  return n;
}

/** -1 means "unlimited" for the memory and pids limits. */
export function bytesOrUnlimited(v: unknown): number {
  return v === -1 || v === "-1" ? -1 : parseBytes(v as string | number);
}

/** Engine fields in microseconds that Compose lets people write as durations ("100ms"). */
export function micros(v: unknown): number {
  return typeof v === "number" || /^\d+$/.test(String(v)) ? Number(v) : Math.round(parseDuration(String(v)) / 1000);
}

export function command(v: unknown): string[] | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  return typeof v === "string" ? shellSplit(v) : (v as unknown[]).map(scalarString);
}

export function healthcheck(h: Raw | undefined): HealthcheckModel | undefined {
  if (!h) return undefined;
  if (h.disable) return { test: ["NONE"] };
  // without test, only the timings are overridden and the image's own test applies
  const out: HealthcheckModel = {};
  if (typeof h.test === "string") out.test = ["CMD-SHELL", h.test];
  else if (Array.isArray(h.test)) {
    out.test = h.test.map(scalarString);
    if (!["CMD", "CMD-SHELL", "NONE"].includes(out.test[0] ?? "")) throw new Error('healthcheck.test as a list must start with "CMD", "CMD-SHELL" or "NONE"');
  }
  for (const key of ["interval", "timeout", "start_period", "start_interval"] as const) {
    if (h[key] !== undefined) out[key] = at([key], () => parseDuration(h[key]));
  }
  if (h.retries !== undefined) out.retries = number(h.retries, "healthcheck.retries");
  return out;
}

export function restartPolicy(restart: unknown, deploy: Raw | undefined): RestartPolicy | undefined {
  if (typeof restart === "string") {
    const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(restart);
    if (!m) throw new Error(`invalid restart policy "${restart}" (no, always, unless-stopped, on-failure[:N])`);
    const name = m[1] as RestartPolicy["name"];
    if (name === "no") return undefined;
    return m[2] ? { name, max_retries: Number(m[2]) } : { name };
  }
  const rp = deploy?.restart_policy;
  if (!rp) return undefined;
  const condition = rp.condition ?? "any";
  if (condition === "none") return undefined;
  const name = condition === "any" ? "always" : "on-failure";
  return rp.max_attempts !== undefined ? { name, max_retries: rp.max_attempts } : { name };
}

export function deviceRequests(list: Raw[]): DeviceRequest[] {
  return list.map((d) => {
    // Compose lists capabilities that must all hold; the engine takes a list of such lists
    const out: DeviceRequest = { capabilities: [[...(d.capabilities ?? ["gpu"])].sort()] };
    if (d.driver) out.driver = d.driver;
    if (d.count !== undefined) out.count = d.count === "all" ? -1 : d.count;
    if (d.device_ids) out.device_ids = [...d.device_ids].sort();
    if (d.options) out.options = stringMap(d.options);
    if (out.count === undefined && !out.device_ids) out.count = -1;
    return out;
  });
}

function swarmUpdate(u: Raw | undefined): SwarmUpdateModel | undefined {
  if (!u) return undefined;
  const out: SwarmUpdateModel = {};
  if (u.parallelism !== undefined) out.parallelism = number(u.parallelism, "parallelism");
  if (u.delay !== undefined) out.delay = at(["delay"], () => parseDuration(u.delay));
  if (u.failure_action !== undefined) out.failure_action = u.failure_action;
  if (u.monitor !== undefined) out.monitor = at(["monitor"], () => parseDuration(u.monitor));
  if (u.max_failure_ratio !== undefined) out.max_failure_ratio = number(u.max_failure_ratio, "max_failure_ratio");
  if (u.order !== undefined) out.order = u.order;
  return out;
}

/** What of `deploy:` only a Swarm applies; undefined when there is none of it. */
export function swarmDeploy(deploy: Raw | undefined): SwarmDeployModel | undefined {
  if (!deploy) return undefined;
  const out: SwarmDeployModel = {};
  if (deploy.mode !== undefined && deploy.mode !== "replicated") out.mode = deploy.mode;
  if (deploy.endpoint_mode !== undefined) out.endpoint_mode = String(deploy.endpoint_mode).toLowerCase() as SwarmDeployModel["endpoint_mode"];
  // canonical.ts has already made a list of labels a map
  if (deploy.labels !== undefined) out.labels = stringMap(deploy.labels);
  const p = deploy.placement;
  if (p) {
    const placement: NonNullable<SwarmDeployModel["placement"]> = {};
    if (p.constraints?.length) placement.constraints = p.constraints.map(String);
    if (p.preferences?.length) placement.preferences = p.preferences.map((x: Raw) => String(x.spread));
    if (p.max_replicas_per_node !== undefined) placement.max_replicas_per_node = number(p.max_replicas_per_node, "max_replicas_per_node");
    if (nonEmpty(placement)) out.placement = placement;
  }
  const update = at(["update_config"], () => swarmUpdate(deploy.update_config));
  if (update) out.update_config = update;
  const rollback = at(["rollback_config"], () => swarmUpdate(deploy.rollback_config));
  if (rollback) out.rollback_config = rollback;
  const rp = deploy.restart_policy;
  if (rp) {
    out.restart_policy = { condition: rp.condition ?? "any" };
    if (rp.delay !== undefined) out.restart_policy.delay = at(["restart_policy", "delay"], () => parseDuration(rp.delay));
    if (rp.max_attempts !== undefined) out.restart_policy.max_attempts = number(rp.max_attempts, "max_attempts");
    if (rp.window !== undefined) out.restart_policy.window = at(["restart_policy", "window"], () => parseDuration(rp.window));
  }
  const r = deploy.resources?.reservations;
  if (r && (r.cpus !== undefined || r.generic_resources)) {
    out.reservations = {};
    if (r.cpus !== undefined) out.reservations.cpus = number(r.cpus, "reservations.cpus");
    if (r.generic_resources) {
      out.reservations.generic_resources = r.generic_resources.map((g: Raw) => ({ kind: String(g.discrete_resource_spec?.kind), value: number(g.discrete_resource_spec?.value, "generic_resources value") }));
    }
  }
  return nonEmpty(out);
}
