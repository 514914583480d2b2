// What one engine cannot do that a Compose file may still ask for (a Swarm can: it publishes a port
// once for all replicas and names tasks itself). The engine target refuses these before it plans;
// the loader, which does not know the target, only models the file.
import { ComposeKeyError } from "../../compose/errors.ts";
import { type LoadedProject, refuseKey } from "../../compose/index.ts";
import type { ProjectModel, ServiceModel } from "../../compose/model.ts";
import type { InputError } from "../../base/errors.ts";
import { projectConflicts } from "./cross.ts";
import { dependencyErrors } from "../../compose/graph.ts";

/** Every rule a service of `project` breaks, each a ComposeKeyError at `services.<name>.<key>`. */
export function engineRuleErrors(project: ProjectModel): ComposeKeyError[] {
  const out: ComposeKeyError[] = [];
  for (const s of Object.values(project.services)) {
    const refuse = (key: string[], why: string) => out.push(new ComposeKeyError(why, ["services", s.name, ...key]));
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
  return out;
}

/** Throws the first rule `project` breaks (engineRuleErrors). */
export function checkEngineRules(project: ProjectModel): void {
  const [first] = engineRuleErrors(project);
  if (first) throw first;
}

/**
 * What one engine refuses in a release, before it plans (a sync) or with no engine at all
 * (`konta check`): every service rule broken, names or host ports two projects ask for, and an
 * x-konta.depends_on naming no project or closing a cycle; each worded as the loader words its
 * own errors (file, line, key).
 */
export function validateEngine(projects: LoadedProject[], root: string): InputError[] {
  const out: InputError[] = [];
  for (const p of projects) for (const e of engineRuleErrors(p)) out.push(refuseKey(p, root, e));
  for (const { project, error } of [...projectConflicts(projects), ...dependencyErrors(projects)]) out.push(refuseKey(project as LoadedProject, root, error));
  return out;
}

/** The first single host port (not a range) the service publishes. */
function fixedHostPort(s: ServiceModel): string | undefined {
  return s.ports?.find((p) => p.published && !p.published.includes("-"))?.published;
}
