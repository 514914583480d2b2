// Reading the labels on containers: whose they are (managed, created by Konta, by this instance).
import { LABEL } from "../../base/labels.ts";

export function isManaged(labels: Record<string, string> | null | undefined): boolean {
  return labels?.[LABEL.managed] === "true";
}

/** Created by a Konta deploy (not only labelled managed by someone running docker compose by hand). */
export function isKontaCreated(labels: Record<string, string> | null | undefined): boolean {
  return isManaged(labels) && !!labels?.[LABEL.commit];
}

/**
 * This instance's containers: created by Konta, and by this instance (containers from before
 * instances were labelled count as this instance's, as they did then).
 */
export function isOurs(c: { kontaCreated: boolean; labels: Record<string, string> }, instance: string | undefined): boolean {
  const owner = c.labels[LABEL.instance];
  return c.kontaCreated && (!instance || !owner || owner === instance);
}

export function containerName(project: string, service: string, n: number, containerNameOverride?: string): string {
  return containerNameOverride ?? `${project}-${service}-${n}`;
}

/**
 * The name a recreate gives the new container until the old one is gone. `run` is unique to the
 * run: a create that a killed run left in the engine cannot take the name this run asks for.
 */
export function temporaryName(oldId: string, run: string, name: string): string {
  return `${oldId.slice(0, 12)}_${run}_${name}`;
}

/** The name a stop-first recreate gives the old container while the new one takes its name. */
export function replacedName(newId: string, name: string): string {
  return `${newId.slice(0, 12)}_replaced_${name}`;
}

/**
 * A recreate's new container under its temporary name (`<old id>_<run>_<name>`, or the
 * `<old id>_<name>` of Konta before runs had their own names): what an interrupted recreate leaves.
 */
export function isTemporaryName(actual: string, name: string): boolean {
  return actual.endsWith(`_${name}`) && /^[0-9a-f]{12}(_[0-9a-f]{6})?$/.test(actual.slice(0, -name.length - 1));
}
