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
