// `include` where Konta is stricter than Compose on purpose (only files of the repository), and
// the config hash of included services. Compose's own reading of include: tests/oracle/include.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadProject, refuseKey } from "../../lib/compose/index.ts";
import { ComposeKeyError } from "../../lib/compose/errors.ts";
import { serviceHash } from "../../lib/compose/hash.ts";

const work = mkdtempSync(join(tmpdir(), "konta-include-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function release(files: Record<string, string | { symlink: string }>) {
  const root = join(work, `r${++n}`);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    if (typeof content === "string") writeFileSync(join(root, f), content);
    else symlinkSync(content.symlink, join(root, f));
  }
  return root;
}

const load = (root: string) => loadProject(join(root, "apps", "app"), "app", { repoRoot: root, processEnv: {} });

function refusal(root: string): string {
  try {
    load(root);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a refusal");
}

const main = (include: string) => `include:\n  - ${include}\nservices:\n  web:\n    image: busybox\n`;

describe("an include must stay in the repository", () => {
  const outside = mkdtempSync(join(work, "outside-"));
  writeFileSync(join(outside, "compose.yaml"), "services:\n  evil:\n    image: busybox\n    privileged: true\n");

  test("through ..", () => {
    const root = release({ "apps/app/compose.yaml": main("../../../outside/compose.yaml") });
    expect(refusal(root)).toBe('apps/app/compose.yaml:2: include[0]: include path "../../../outside/compose.yaml" leads outside the repository (via "..", an absolute path or a symlink); only files of the repository can be included');
  });

  test("by an absolute path", () => {
    const root = release({ "apps/app/compose.yaml": main(join(outside, "compose.yaml")) });
    expect(refusal(root)).toContain("leads outside the repository");
  });

  test("through a symlink in the repository", () => {
    const root = release({ "apps/app/compose.yaml": main("shared/compose.yaml"), "apps/app/shared": { symlink: outside } });
    expect(refusal(root)).toContain('include path "shared/compose.yaml" leads outside the repository');
  });

  test("project_directory and env_file too", () => {
    const dir = release({ "apps/app/compose.yaml": `include:\n  - path: db.yaml\n    project_directory: ${outside}\n`, "apps/app/db.yaml": "services: {}\n" });
    expect(refusal(dir)).toContain("apps/app/compose.yaml:3: include[0].project_directory: project_directory");
    const env = release({ "apps/app/compose.yaml": "include:\n  - path: db.yaml\n    env_file: ../../../outside/x.env\n", "apps/app/db.yaml": "services: {}\n" });
    expect(refusal(env)).toContain('include[0].env_file: env_file "../../../outside/x.env" leads outside the repository');
  });

  test("a remote include is refused, its credentials not repeated", () => {
    const root = release({ "apps/app/compose.yaml": main("https://deploy:s3cr3t@git.example.com/org/stack.git") });
    const message = refusal(root);
    expect(message).toContain('include path "https://git.example.com/org/stack.git" is remote; Konta deploys only what the repository holds');
    expect(message).not.toContain("s3cr3t");
    expect(refusal(release({ "apps/app/compose.yaml": main("oci://registry.example.com/stack:1") }))).toContain("is remote");
  });

  test("a missing included file names itself", () => {
    expect(refusal(release({ "apps/app/compose.yaml": main("db/compose.yaml") }))).toContain("apps/app/db/compose.yaml: file does not exist");
  });

  test("the security policy applies to what an included file names", () => {
    const root = release({ "apps/app/compose.yaml": main("../../shared/db.yaml"), "shared/db.yaml": "services:\n  db:\n    image: busybox\n    privileged: true\n    volumes: ['/etc:/host-etc']\n" });
    const refused = (policy: { allowPrivileged: boolean; allowedBindRoots?: string[] }) => {
      try {
        loadProject(join(root, "apps", "app"), "app", { repoRoot: root, processEnv: {}, policy });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(refused({ allowPrivileged: false })).toContain("shared/db.yaml:4: services.db.privileged: privileged: true is forbidden on this server");
    expect(refused({ allowPrivileged: true, allowedBindRoots: ["/srv"] })).toMatch(/shared\/db.yaml:\d+: services.db.volumes\[0\]: .*outside deploy.allowed_bind_roots/);
  });

  test("the included file's keys go through the same checks (schema, unsupported keys)", () => {
    const root = release({ "apps/app/compose.yaml": main("db.yaml"), "apps/app/db.yaml": "services:\n  db:\n    image: busybox\n    develop: {}\n" });
    expect(refusal(root)).toContain("apps/app/db.yaml:4: services.db.develop: not supported by Konta");
  });
});

describe("the config hash of an included service", () => {
  const files = (dbImage: string, webEnv: string) => ({
    "apps/app/compose.yaml": "include: [../../shared/db.yaml]\nservices:\n  web:\n    image: busybox\n    env_file: [web.env]\n",
    "apps/app/web.env": webEnv,
    "shared/db.yaml": `services:\n  db:\n    image: ${dbImage}\n    env_file: [db.env]\n`,
    "shared/db.env": "A=1\n",
  });
  const hashes = (root: string) => Object.fromEntries(Object.entries(load(root).services).map(([k, s]) => [k, serviceHash(s)]));

  test("a change in an included file changes exactly the services it defines", () => {
    const before = hashes(release(files("busybox:1", "B=1\n")));
    const after = hashes(release(files("busybox:2", "B=1\n")));
    expect(after.web).toBe(before.web as string);
    expect(after.db).not.toBe(before.db as string);
  });

  test("the env file of an included service is covered too", () => {
    const a = release(files("busybox:1", "B=1\n"));
    const b = release(files("busybox:1", "B=1\n"));
    writeFileSync(join(b, "shared/db.env"), "A=2\n");
    expect(hashes(b).db).not.toBe(hashes(a).db as string);
    expect(hashes(b).web).toBe(hashes(a).web as string);
  });
});

test("a target's refusal of a key points at the included file that defines it", () => {
  const root = release({
    "apps/app/compose.yaml": "include: [../../shared/db.yaml]\nservices:\n  web:\n    image: busybox\n",
    "shared/db.yaml": "services:\n  db:\n    image: busybox\n    container_name: the-db\n    scale: 2\n",
  });
  const project = load(root);
  expect(project.included).toEqual(["../../shared/db.yaml"]);
  expect(refuseKey(project, root, new ComposeKeyError("container_name with replicas", ["services", "db", "container_name"])).message).toBe("shared/db.yaml:4: services.db.container_name: container_name with replicas");
  expect(refuseKey(project, root, new ComposeKeyError("x", ["services", "web", "image"])).message).toBe("apps/app/compose.yaml:4: services.web.image: x");
});
