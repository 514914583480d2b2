// What state remembers of a deployed project besides its services, the same for every target: the
// services it leaves alone, the digest of its host-side inputs, and which secret-manager values it
// took (references and a keyed digest of the values, never a value).
import type { LoadedProject } from "../compose/index.ts";
import type { ProjectExpectation, ServiceTarget } from "../state/index.ts";

export function projectExpectation(model: LoadedProject, services: Record<string, ServiceTarget>): ProjectExpectation {
  const ignored = Object.values(model.services).filter((s) => !s.managed).map((s) => s.name);
  const refs = model.konta?.secrets;
  return {
    services,
    hostInputs: model.hostInputs,
    ...(ignored.length ? { ignored } : {}),
    ...(refs && model.secretsDigest ? { secrets: { refs, digest: model.secretsDigest } } : {}),
  };
}
