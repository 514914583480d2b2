// The security policy as a hostile committer meets it: with deploy.allow_privileged: false and
// deploy.allowed_bind_roots set, every way to get host root from a commit is refused with exit 2,
// nothing is created, and the live release keeps serving. Each spelling is tried: plain keys, YAML
// merge keys, `extends` from another file, interpolated values, an override file, a profile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { compose, MANAGED, sleeper } from "../support/compose.ts";
import { engine, IMAGE, inspect, runUnmanaged } from "../support/docker.ts";
import type { FileSpec } from "../support/repo.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const DIR = "apps/kt-policy";
const APP = `${DIR}/docker-compose.yml`;
const good = compose({ services: { web: sleeper() } });
const withWeb = (extra: Record<string, unknown>, top: Record<string, unknown> = {}) => compose({ services: { web: sleeper(extra) }, ...top });

let srv: string;
beforeAll(() => {
  // an allowed root holding a data folder and a link that leads out of it, to /
  srv = mkdtempSync("/var/tmp/konta-srv-");
  mkdirSync(join(srv, "data"));
  symlinkSync("/", join(srv, "escape"));
});
afterAll(() => rmSync(srv, { recursive: true, force: true }));

const restricted = () => ({ allow_privileged: false, allowed_bind_roots: [srv] });

interface Case {
  name: string;
  files: () => Record<string, FileSpec>;
  error: RegExp;
  deploy?: () => Record<string, unknown>;
  before?: () => Promise<unknown>;
}

const bindVolume = (device: string) => withWeb({ volumes: ["hostroot:/host"] }, { volumes: { hostroot: { driver_opts: { type: "none", o: "bind", device } } } });

const cases: Case[] = [
  { name: "a local volume binding host / (driver_opts device)", files: () => ({ [APP]: bindVolume("/") }), error: /volumes\.hostroot.*allowed_bind_roots/s },
  { name: "a local volume binding /var/run (the Docker socket)", files: () => ({ [APP]: bindVolume("/var/run") }), error: /allowed_bind_roots/ },
  { name: "cap_add: ALL", files: () => ({ [APP]: withWeb({ cap_add: ["ALL"] }) }), error: /cap_add: ALL.*forbidden/ },
  { name: "cap_add: SYS_ADMIN", files: () => ({ [APP]: withWeb({ cap_add: ["CAP_SYS_ADMIN"] }) }), error: /cap_add: CAP_SYS_ADMIN/ },
  { name: "security_opt seccomp=unconfined", files: () => ({ [APP]: withWeb({ security_opt: ["seccomp=unconfined"] }) }), error: /security_opt: seccomp=unconfined/ },
  { name: "security_opt apparmor:unconfined", files: () => ({ [APP]: withWeb({ security_opt: ["apparmor:unconfined"] }) }), error: /security_opt: apparmor:unconfined/ },
  { name: "security_opt label:disable", files: () => ({ [APP]: withWeb({ security_opt: ["label:disable"] }) }), error: /security_opt: label:disable/ },
  { name: "security_opt systempaths=unconfined", files: () => ({ [APP]: withWeb({ security_opt: ["systempaths=unconfined"] }) }), error: /systempaths/ },
  { name: "pid: host", files: () => ({ [APP]: withWeb({ pid: "host" }) }), error: /pid: host/ },
  { name: "ipc: host", files: () => ({ [APP]: withWeb({ ipc: "host" }) }), error: /ipc: host/ },
  { name: "uts: host", files: () => ({ [APP]: withWeb({ uts: "host" }) }), error: /uts: host/ },
  { name: "userns_mode: host", files: () => ({ [APP]: withWeb({ userns_mode: "host" }) }), error: /userns_mode: host/ },
  { name: "cgroup: host", files: () => ({ [APP]: withWeb({ cgroup: "host" }) }), error: /cgroup: host/ },
  { name: "network_mode: host", files: () => ({ [APP]: withWeb({ network_mode: "host" }) }), error: /network_mode: host/ },
  { name: "devices: the host disk", files: () => ({ [APP]: withWeb({ devices: ["/dev/vda:/dev/vda"] }) }), error: /devices/ },
  { name: "device_cgroup_rules", files: () => ({ [APP]: withWeb({ device_cgroup_rules: ["b *:* rmw"] }) }), error: /device_cgroup_rules/ },
  { name: "sysctls kernel.core_pattern", files: () => ({ [APP]: withWeb({ sysctls: { "kernel.core_pattern": "|/tmp/x" } }) }), error: /kernel\.core_pattern.*not namespaced/ },
  { name: "label_file: /etc/shadow (and its content never quoted)", files: () => ({ [APP]: withWeb({ label_file: ["/etc/shadow"] }) }), error: /label_file.*\/etc\/shadow.*allowed_bind_roots/s },
  { name: "env_file: an absolute host file", files: () => ({ [APP]: withWeb({ env_file: ["/etc/hostname"] }) }), error: /\/etc\/hostname.*allowed_bind_roots/ },
  { name: "a bind under an allowed root that is a symlink to /", files: () => ({ [APP]: withWeb({ volumes: [`${srv}/escape:/host`] }) }), error: /resolves to \/.*allowed_bind_roots/ },
  { name: "a long-syntax bind of /", files: () => ({ [APP]: withWeb({ volumes: [{ type: "bind", source: "/", target: "/host" }] }) }), error: /allowed_bind_roots/ },
  { name: "a secret from a host file", files: () => ({ [APP]: withWeb({ secrets: ["s"] }, { secrets: { s: { file: "/etc/hostname" } } }) }), error: /allowed_bind_roots/ },
  { name: "a build context on the host", files: () => ({ [APP]: withWeb({ image: undefined, build: { context: "/etc" } }) }), error: /allowed_bind_roots/ },
  {
    name: "volumes_from a container Konta does not manage",
    files: () => ({ [APP]: withWeb({ volumes_from: ["container:kt-policy-bystander"] }) }),
    before: () => runUnmanaged("kt-policy-bystander"),
    error: /volumes_from: container:kt-policy-bystander is not a container Konta manages/,
  },
  {
    name: "network_mode: container: of a container Konta does not manage",
    files: () => ({ [APP]: withWeb({ network_mode: "container:kt-policy-bystander" }) }),
    before: () => runUnmanaged("kt-policy-bystander"),
    error: /network_mode: container:kt-policy-bystander is not a container Konta manages/,
  },
  // the same doors, spelled differently
  {
    name: "privileged through a YAML merge key",
    files: () => ({ [APP]: `x-evil: &evil\n  privileged: true\nservices:\n  web:\n    <<: *evil\n    image: ${IMAGE}\n    init: true\n    command: [sleep, "3600"]\n    labels: { konta.managed: "true" }\n` }),
    error: /privileged: true.*forbidden/,
  },
  {
    name: "cap_add through extends from another file",
    files: () => ({
      [APP]: withWeb({ extends: { file: "base.yml", service: "base" } }),
      [`${DIR}/base.yml`]: compose({ services: { base: { image: IMAGE, cap_add: ["SYS_ADMIN"] } } }),
    }),
    error: /cap_add: SYS_ADMIN/,
  },
  {
    name: "pid: host through an interpolated value from .env",
    files: () => ({ [APP]: withWeb({ pid: "${PIDMODE}" }), [`${DIR}/.env`]: "PIDMODE=host\n" }),
    error: /pid: host/,
  },
  {
    name: "devices through docker-compose.override.yml",
    files: () => ({ [APP]: good, [`${DIR}/docker-compose.override.yml`]: compose({ services: { web: { devices: ["/dev/vda:/dev/vda"] } } }) }),
    error: /devices/,
  },
  {
    name: "a privileged service behind an enabled profile",
    files: () => ({ [APP]: compose({ services: { web: sleeper(), debug: sleeper({ profiles: ["debug"], privileged: true }) } }) }),
    deploy: () => ({ ...restricted(), profiles: ["debug"] }),
    error: /privileged/,
  },
];

async function policyContainers(): Promise<string[]> {
  const list = await engine<{ Names: string[] }[]>("/containers/json", { query: { all: 1, filters: JSON.stringify({ label: ["com.docker.compose.project=kt-policy"] }) } });
  return list.map((c) => (c.Names[0] ?? "").replace(/^\//, "")).sort();
}

describe("restricted: hostile commits are refused with exit 2, nothing is created, the live release serves", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const repo = rig.repo();
      const v1 = repo.write({ [APP]: good }).commit("good");
      const env = rig.env(repo, { deploy: c.deploy?.() ?? restricted() });
      expect((await env.run(["sync"])).code).toBe(0);
      const before = (await inspect("kt-policy-web-1"))?.Id;
      expect(before).toBeDefined();
      await c.before?.();
      const volumes = (await engine<{ Volumes: unknown[] | null }>("/volumes")).Volumes?.length ?? 0;

      repo.write(c.files()).commit(c.name);
      const r = await env.run(["sync"]);
      expect({ code: r.code, all: r.all }).toMatchObject({ code: 2 });
      expect(r.all).toMatch(c.error);
      expect(r.all).not.toMatch(/root:[^\s]*:\d+:/); // no line of /etc/shadow or /etc/passwd
      expect(await policyContainers()).toEqual(["kt-policy-web-1"]);
      expect((await inspect("kt-policy-web-1"))?.Id).toBe(before);
      expect((await inspect("kt-policy-web-1"))?.State.Running).toBe(true);
      expect((await engine<{ Volumes: unknown[] | null }>("/volumes")).Volumes?.length ?? 0).toBe(volumes);
      expect(basename(readlinkSync(join(env.state, "current")))).toBe(v1);
    });
  }
});

describe("controls", () => {
  test("restricted: a bind under an allowed root, default capabilities and allowed_capabilities deploy", async () => {
    const repo = rig.repo();
    repo.write({
      [APP]: withWeb({ volumes: [`${srv}/data:/data`], cap_add: ["NET_BIND_SERVICE", "NET_ADMIN"], sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" } }),
    }).commit("fine");
    const env = rig.env(repo, { deploy: { ...restricted(), allowed_capabilities: ["NET_ADMIN"] } });
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    const c = await inspect("kt-policy-web-1");
    expect(c?.HostConfig.CapAdd).toEqual(expect.arrayContaining(["NET_ADMIN"]));
  });

  test("default config: what Docker Compose allows deploys (the threat model is Compose's)", async () => {
    const repo = rig.repo();
    repo.write({ [APP]: withWeb({ cap_add: ["SYS_ADMIN"], security_opt: ["apparmor=unconfined"], volumes: ["/etc/hostname:/host-hostname:ro"] }) }).commit("compose allows it");
    const env = rig.env(repo);
    const r = await env.run(["sync"]);
    expect({ code: r.code, all: r.all }).toMatchObject({ code: 0 });
    expect((await inspect("kt-policy-web-1"))?.State.Running).toBe(true);
  });

  test("hooks.enabled: false: the repository's hooks never run, and the log says so", async () => {
    const repo = rig.repo();
    repo.write({ [APP]: good, "hooks/pre.sh": { content: "#!/bin/bash\necho HOOK-RAN\nexit 1\n", mode: 0o755 } }).commit("with a hook");
    const env = rig.env(repo, { hooks: { enabled: false } });
    const r = await env.run(["sync"]);
    expect(r.code).toBe(0);
    expect(r.all).toContain("hooks/pre.sh skipped: hooks are disabled");
    expect(r.all).not.toContain("HOOK-RAN");
    expect(MANAGED["konta.managed"]).toBe("true");
  });
});

describe("smaller leaks", () => {
  test("sync --dry-run --json prints no value from a host env file", async () => {
    const repo = rig.repo();
    repo.write({ [APP]: withWeb({ environment: { PW: "${DB_PASSWORD}" } }) }).commit("uses a host secret");
    const env = rig.env(repo);
    env.writeHostEnv("kt-policy", "DB_PASSWORD=hunter2-from-the-host\n");
    const r = await env.run(["sync", "--dry-run", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).plan).toBeDefined();
    expect(r.all).not.toContain("hunter2-from-the-host");
  });

  test("default config: a host file read as label_file that is no env file is refused without quoting a line of it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "konta-hostfile-"));
    try {
      // a line Compose's parser refuses too (a space in the name), holding a secret
      writeFileSync(join(dir, "notes"), "backup password: hunter2-on-the-host\n");
      const repo = rig.repo();
      repo.write({ [APP]: withWeb({ label_file: [join(dir, "notes")] }) }).commit("reads a host file");
      const env = rig.env(repo);
      const r = await env.run(["sync"]);
      expect(r.code).toBe(2);
      expect(r.all).toContain(join(dir, "notes"));
      expect(r.all).toMatch(/line 1: a variable name cannot contain a space/);
      expect(r.all).not.toContain("hunter2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("http:// repository URLs: loopback only, unless allow_insecure_http says the network is trusted", async () => {
    const repo = rig.repo();
    const env = rig.env(repo, { repoUrl: "http://git.example.com/acme/infra.git" });
    const refused = await env.run(["status"]);
    expect(refused.code).toBe(2);
    expect(refused.all).toContain("clear text");
    env.writeConfig({ repoUrl: "http://git.example.com/acme/infra.git", repository: { allow_insecure_http: true } });
    expect((await env.run(["status"])).all).not.toContain("clear text");
  });
});
