// Labels on what Konta creates and reads: Docker Compose's own (so `docker compose ps/logs/ls`
// work on Konta's containers) plus Konta's (DESIGN section 8). Shared by every layer.
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
  /** start the new container before the old one goes (the original Konta's label) */
  rolling: "konta.rolling",
  /** follow new images pushed under the same tag */
  imageUpdates: "konta.image-updates",
  /** digest of a built image's recipe */
  buildHash: "konta.build-hash",
  /** the container's pre_stop hooks (JSON): run before Konta stops it, whatever release is live then */
  preStop: "konta.pre-stop",
  /** a container made only to find out whether the engine still creates one of a killed run's names */
  probe: "konta.probe",
} as const;
