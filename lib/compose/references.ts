// References between services (depends_on, `service:` namespaces, volumes_from, links): what each
// service needs, the dependencies compose-go implies, and the checks (existing, managed, no cycles).
import { ComposeKeyError, type KeyPath } from "./errors.ts";
import type { ServiceModel } from "./model.ts";

/** Services a service needs: depends_on, network_mode: service:, volumes_from and links. */
export function serviceReferences(s: ServiceModel): { name: string; key: KeyPath }[] {
  const out: { name: string; key: KeyPath }[] = Object.keys(s.depends_on ?? {}).map((name) => ({ name, key: ["depends_on", name] }));
  for (const key of ["network_mode", "ipc", "pid"] as const) {
    const ref = s[key]?.match(/^service:(.+)$/)?.[1];
    if (ref) out.push({ name: ref, key: [key] });
  }
  for (const v of s.volumes_from ?? []) {
    const m = /^(?:service:)?([^:]+)/.exec(v);
    if (m && !v.startsWith("container:")) out.push({ name: m[1] as string, key: ["volumes_from"] });
  }
  for (const l of s.links ?? []) out.push({ name: l.split(":")[0] as string, key: ["links"] });
  return out;
}

/**
 * What compose-go adds to depends_on (when not declared): links and `service:` namespaces
 * (network_mode, ipc, pid) as service_started with restart: true, volumes_from without restart.
 */
export function addImplicitDependencies(s: ServiceModel): void {
  const declared = new Set(Object.keys(s.depends_on ?? {}));
  for (const ref of serviceReferences(s)) {
    if (declared.has(ref.name)) continue;
    const restart = ref.key[0] !== "volumes_from" || (s.depends_on?.[ref.name]?.restart ?? false);
    s.depends_on = { ...s.depends_on, [ref.name]: { condition: "service_started", restart, required: true } };
  }
}

/** depends_on, `service:` namespaces, volumes_from and links must name services that exist, without cycles. */
export function checkReferences(services: Record<string, ServiceModel>): void {
  for (const s of Object.values(services)) {
    for (const ref of serviceReferences(s)) {
      if (!services[ref.name]) {
        if (ref.key[0] === "depends_on" && s.depends_on?.[ref.name]?.required === false) {
          delete s.depends_on[ref.name];
          continue;
        }
        throw new ComposeKeyError(`service "${s.name}" refers to service "${ref.name}", which does not exist (or its profile is not enabled)`, [
          "services",
          s.name,
          ...ref.key,
        ]);
      }
      // Konta would deploy the one and never create the other: say so instead of starting half a project
      if (s.managed && !services[ref.name]?.managed) {
        throw new ComposeKeyError(
          `service "${s.name}" needs service "${ref.name}" (${ref.key[0]}), which is not labelled konta.managed: "true", so Konta never creates it; label "${ref.name}" konta.managed: "true", or remove the dependency`,
          ["services", s.name, ...ref.key],
        );
      }
    }
  }
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      throw new ComposeKeyError(`circular dependency between services: ${[...trail, name].join(" -> ")}`, ["services", name, "depends_on"]);
    }
    state.set(name, "visiting");
    for (const ref of serviceReferences(services[name] as ServiceModel)) visit(ref.name, [...trail, name]);
    state.set(name, "done");
  };
  for (const name of Object.keys(services)) visit(name, []);
}
