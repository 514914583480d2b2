// Config hashes: sha256 over canonical JSON (sorted keys). A service's hash covers everything that
// shapes its container and nothing that does not (replica count, start order, pull policy, build
// recipe: the image ID covers that), so an unchanged service is never recreated.
import { canonicalJson, sha256 } from "../base/digest.ts";
import { LABEL } from "../base/labels.ts";
import type { ServiceModel } from "./model.ts";


const NOT_IN_HASH = ["replicas", "depends_on", "pull_policy", "pull_every", "build", "update_order", "managed", "stopped", "swarm"] as const;

export function serviceHash(service: ServiceModel): string {
  const subject: Record<string, unknown> = { ...service };
  for (const key of NOT_IN_HASH) delete subject[key];
  // konta.stopped only decides running or not: toggling it stops or starts, never recreates
  if (service.labels?.[LABEL.stopped] !== undefined) {
    const { [LABEL.stopped]: _stopped, ...labels } = service.labels;
    subject.labels = labels;
  }
  return sha256(canonicalJson(subject));
}
