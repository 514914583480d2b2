// Compose documents for tests, built from the offline busybox image. `init: true` lets the
// container stop at once on SIGTERM (busybox as PID 1 ignores it), which keeps tests fast.
import { stringify } from "yaml";
import { IMAGE } from "./docker.ts";

export const MANAGED = { "konta.managed": "true" } as const;

export function compose(doc: Record<string, unknown>): string {
  return stringify(doc);
}

/** busybox httpd serving /www on container port 80. */
export function httpService(port: number | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    image: IMAGE,
    init: true,
    command: ["httpd", "-f", "-p", "80", "-h", "/www"],
    ...(port ? { ports: [`127.0.0.1:${port}:80`] } : {}),
    labels: { ...MANAGED },
    ...extra,
  };
}

export function sleeper(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { image: IMAGE, init: true, command: ["sleep", "3600"], labels: { ...MANAGED }, ...extra };
}
