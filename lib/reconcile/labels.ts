// Labels on what Konta creates: Docker Compose's own (so `docker compose ps/logs/ls` work on
// Konta's containers) plus Konta's.

export const LABEL = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  number: "com.docker.compose.container-number",
  oneoff: "com.docker.compose.oneoff",
  workingDir: "com.docker.compose.project.working_dir",
  configFiles: "com.docker.compose.project.config_files",
  configHash: "com.docker.compose.config-hash",
  image: "com.docker.compose.image",
  network: "com.docker.compose.network",
  volume: "com.docker.compose.volume",
  managed: "konta.managed",
  stopped: "konta.stopped",
  commit: "konta.commit",
  /** hash of a network's definition, to notice a changed network */
  networkHash: "konta.network-hash",
  /** an external network Konta created because it was missing (deploy.auto_create_external_networks) */
  external: "konta.external",
  /** which Konta instance (repository, branch, path) created a container */
  instance: "konta.instance",
} as const;

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
