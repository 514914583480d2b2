// Config hashes: sha256 over canonical JSON (sorted keys). A service's hash covers everything that
// shapes its container and nothing that does not (replica count, start order, pull policy, build
// recipe: the image ID covers that), so an unchanged service is never recreated.
import type { ServiceModel } from "./model.ts";

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

const NOT_IN_HASH = ["replicas", "depends_on", "pull_policy", "build", "update_order", "managed", "stopped"] as const;

export function serviceHash(service: ServiceModel): string {
  const subject: Record<string, unknown> = { ...service };
  for (const key of NOT_IN_HASH) delete subject[key];
  // konta.stopped only decides running or not: toggling it stops or starts, never recreates
  if (service.labels?.["konta.stopped"] !== undefined) {
    const { "konta.stopped": _stopped, ...labels } = service.labels;
    subject.labels = labels;
  }
  return sha256(canonicalJson(subject));
}
