// What changed in a service between two models, as `konta plan` prints it:
// `environment.FOO: "a" -> "b"`. Values that look like secrets are masked, and so is anything
// equal to a registered secret.
import type { ProjectModel, ServiceModel } from "./model.ts";
import { redact } from "../base/redact.ts";

const SECRET_KEY = /pass|secret|token|key|credential|auth|private|api_?key|salt/i;
const MASK = "***";

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (Array.isArray(value) && value.some((v) => v && typeof v === "object")) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    return;
  }
  out.set(prefix, value);
}

function show(path: string, value: unknown): string {
  if (value === undefined) return "(none)";
  if (SECRET_KEY.test(path.split(".").at(-1) ?? "") && /^(environment|build\.args)\./.test(path)) return MASK;
  return redact(JSON.stringify(value));
}

/** Field-level differences, old -> new, skipping fields that do not shape the container. */
export function serviceDiff(before: ServiceModel | undefined, after: ServiceModel): string[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, "", a);
  flatten(after, "", b);
  const lines: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (key === "name" || key.endsWith(".digest")) continue;
    const x = a.get(key);
    const y = b.get(key);
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const from = show(key, x);
    const to = show(key, y);
    lines.push(from === MASK && to === MASK ? `${key}: *** -> *** (changed)` : `${key}: ${from} -> ${to}`);
  }
  // a bind-mounted file's content changed: say which mount, not the digest
  for (const [key, value] of b) {
    if (key.endsWith(".digest") && a.has(key) && a.get(key) !== value) lines.push(`${key.replace(/\.digest$/, "")}: content changed`);
  }
  return lines;
}

/** For each given service ("project/service"): its changes against the model `before` (the live release's). */
export function planDetails(services: string[], after: ProjectModel[], before: ProjectModel[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const find = (list: ProjectModel[], key: string) => {
    const [project, service] = key.split("/") as [string, string];
    return list.find((p) => p.name === project)?.services[service];
  };
  for (const key of services) {
    const now = find(after, key);
    if (!now || out.has(key)) continue;
    const was = find(before, key);
    out.set(key, was ? serviceDiff(was, now) : []);
  }
  return out;
}
