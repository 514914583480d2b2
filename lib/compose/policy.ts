// The server's policy over what a commit may ask of the engine (deploy.allow_privileged,
// deploy.allowed_capabilities, deploy.allowed_bind_roots), applied to the normalised model: after
// interpolation, merges, `extends` and YAML merge keys, so no spelling of a key gets around it.
// By default everything Docker Compose allows is allowed (anyone who can push is root on the host,
// as with Compose itself); the restrictions close the doors listed in README "Security".
import { isAbsolute } from "node:path";
import { ComposeKeyError } from "./errors.ts";
import type { ServiceModel, VolumeModel } from "./model.ts";
import { isInside } from "../base/fsutil.ts";
import { realpathLoose } from "./paths.ts";

export interface HostPolicy {
  allowPrivileged: boolean;
  /** capabilities cap_add may name beyond Docker's default set when allowPrivileged is false */
  allowedCapabilities?: string[];
  /** when set, every host path a commit names must resolve inside the release or one of these */
  allowedBindRoots?: string[];
}

/** What Docker gives a container by default (moby's oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = new Set([
  "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
  "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
]);

/** Namespaced sysctls Docker lets a container set (everything else changes the host's kernel). */
const NAMESPACED_SYSCTL = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\..+|net\..+)$/;

const FORBIDDEN = "is forbidden on this server (deploy.allow_privileged: false in the Konta config)";

const capName = (c: string) => c.toUpperCase().replace(/^CAP_/, "");

/** Refuses a service that would be privileged in all but name while allow_privileged is false. */
export function checkServicePolicy(s: ServiceModel, policy: HostPolicy): void {
  if (policy.allowPrivileged) return;
  const refuse = (what: string, path: (string | number)[]): never => {
    throw new ComposeKeyError(`${what} ${FORBIDDEN}`, path);
  };
  if (s.privileged) refuse("privileged: true", ["privileged"]);
  for (const key of ["post_start", "pre_stop"] as const) {
    s[key]?.forEach((h, i) => h.privileged && refuse("a privileged lifecycle hook", [key, i, "privileged"]));
  }
  const allowed = new Set([...DEFAULT_CAPABILITIES, ...(policy.allowedCapabilities ?? []).map(capName)]);
  for (const cap of s.cap_add ?? []) {
    if (!allowed.has(capName(cap))) refuse(`cap_add: ${cap} (beyond Docker's default set; deploy.allowed_capabilities may list it)`, ["cap_add"]);
  }
  for (const opt of s.security_opt ?? []) {
    const o = opt.replace(":", "=").toLowerCase();
    if (/=unconfined$/.test(o) || o === "label=disable" || o === "systempaths=unconfined") refuse(`security_opt: ${opt}`, ["security_opt"]);
  }
  for (const key of ["pid", "ipc", "uts", "userns_mode", "cgroup", "network_mode"] as const) {
    if (s[key] === "host") refuse(`${key}: host`, [key]);
  }
  if (s.devices?.length) refuse("devices (host devices in the container)", ["devices"]);
  if (s.device_cgroup_rules?.length) refuse("device_cgroup_rules", ["device_cgroup_rules"]);
  for (const key of Object.keys(s.sysctls ?? {})) {
    if (!NAMESPACED_SYSCTL.test(key)) refuse(`sysctls: ${key} (not namespaced: it would change the host's kernel)`, ["sysctls", key]);
  }
}

/** use_api_socket hands the service the engine's socket: root on the host, privileged in all but name. */
export function checkApiSocketPolicy(policy: HostPolicy): void {
  if (!policy.allowPrivileged) throw new ComposeKeyError(`use_api_socket (the Docker socket is root on the host) ${FORBIDDEN}`, ["use_api_socket"]);
}

/** `container:<name>` references of a service (volumes_from, network_mode, pid, ipc). */
export function containerReferences(s: ServiceModel): { key: string; container: string }[] {
  const out: { key: string; container: string }[] = [];
  const ref = (key: string, v: string | undefined) => {
    const m = v?.match(/^container:(.+)$/);
    if (m) out.push({ key, container: (m[1] as string).split(":")[0] as string });
  };
  for (const v of s.volumes_from ?? []) ref("volumes_from", v);
  ref("network_mode", s.network_mode);
  ref("pid", s.pid);
  ref("ipc", s.ipc);
  return out;
}

/**
 * With allowed_bind_roots set, a host path must lie inside the release or a root once symlinks on
 * the host are followed (a link under a root that leads to / does not count as inside it).
 */
export function checkHostPath(abs: string, repoRoot: string, policy: HostPolicy, what = "host path"): void {
  const roots = policy.allowedBindRoots;
  if (!roots) return;
  const real = realpathLoose(abs);
  if (isInside(realpathLoose(repoRoot), real)) return;
  if (roots.some((root) => isInside(realpathLoose(root), real))) return;
  const via = real === abs ? "" : ` (it resolves to ${real})`;
  throw new Error(`${what} ${abs}${via} is outside deploy.allowed_bind_roots (${roots.join(", ") || "none"}); the server's config forbids it`);
}

/** A local volume whose driver options mount a host path (o: bind, type: none, or a device path). */
export function checkVolumePolicy(v: VolumeModel, repoRoot: string, policy: HostPolicy): void {
  const opts = v.driver_opts;
  if (!policy.allowedBindRoots || !opts || (v.driver && v.driver !== "local")) return;
  const bind = /(^|,)r?bind(,|$)/.test(opts.o ?? "") || opts.type === "none";
  const device = opts.device;
  if (device && (bind || isAbsolute(device))) {
    checkHostPath(device, repoRoot, policy, `volume ${v.name}: driver_opts.device`);
  } else if (bind) {
    throw new Error(`volume ${v.name}: a bind volume without a device path is refused under deploy.allowed_bind_roots`);
  }
}
