// What one engine cannot do that a Compose file may still ask for (a Swarm can: it publishes a port
// once for all replicas and names tasks itself). The engine target refuses these before it plans;
// the loader, which does not know the target, only models the file.
import { ComposeKeyError } from "../../compose/errors.ts";
import type { ProjectModel, ServiceModel } from "../../compose/model.ts";

/** Throws a ComposeKeyError at `services.<name>.<key>` for the first rule a service breaks. */
export function checkEngineRules(project: ProjectModel): void {
  for (const s of Object.values(project.services)) {
    const refuse = (key: string[], why: string): never => {
      throw new ComposeKeyError(why, ["services", s.name, ...key]);
    };
    const fixed = fixedHostPort(s);
    if (s.update_order === "start-first" && fixed) {
      refuse(
        ["deploy", "update_config", "order"],
        `deploy.update_config.order: start-first starts the new container while the old one still holds host port ${fixed}, so it cannot work with a fixed host port; use stop-first, or put the service behind a reverse proxy without ports:`,
      );
    }
    if (s.replicas <= 1) continue;
    if (s.container_name) {
      refuse(["container_name"], `container_name "${s.container_name}" names one container, but ${s.replicas} replicas are asked for; remove container_name or use one replica`);
    }
    const target = s.ports?.find((p) => p.published === fixed)?.target;
    if (fixed) {
      refuse(
        ["ports"],
        `host port ${fixed} can be bound by one container only, but ${s.replicas} replicas are asked for; publish a range (e.g. "${fixed}-${Number(fixed) + s.replicas - 1}:${target}"), drop the host port, or put the replicas behind a reverse proxy`,
      );
    }
  }
}

/** The first single host port (not a range) the service publishes. */
function fixedHostPort(s: ServiceModel): string | undefined {
  return s.ports?.find((p) => p.published && !p.published.includes("-"))?.published;
}
