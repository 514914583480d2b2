// Divergences from Docker Compose found by reading and running the loader (issue "Prove Compose
// semantics against Docker Compose v2"): each case loads the same folder with Konta and with
// `docker compose config` (Compose v2, the reference) and requires the same answer.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadProject } from "../../lib/compose/index.ts";
import { composeConfig } from "../support/compose-oracle.ts";

const work = mkdtempSync(join(tmpdir(), "konta-oracle-div-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A release with one project folder apps/<name> holding `files`; returns [root, dir]. */
function project(files: Record<string, string | { symlink: string }>, name = `p${n + 1}`): { root: string; dir: string; name: string } {
  const root = join(work, `r${++n}`);
  const dir = join(root, "apps", name);
  for (const [f, content] of Object.entries(files)) {
    const path = join(dir, f);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === "string") writeFileSync(path, content);
    else symlinkSync(content.symlink, path);
  }
  return { root, dir, name };
}

const konta = (p: { root: string; dir: string; name: string }, env: Record<string, string> = {}) =>
  loadProject(p.dir, p.name, { repoRoot: p.root, processEnv: env, passthrough: Object.keys(env) });

describe("the loader answers as docker compose config does", () => {
  test("!reset and !override in an override file", () => {
    const p = project({
      "compose.yaml": `services:
  web:
    image: busybox
    ports: ["8080:80", "9090:90"]
    environment: { A: "1", C: "3" }
    labels: { x: "1" }
    dns: [1.1.1.1]
`,
      "compose.override.yaml": `services:
  web:
    ports: !reset []
    environment: !override { B: "2" }
    labels: !reset {}
    dns: !reset null
`,
    });
    const oracle = composeConfig(p.dir, p.name).services.web;
    const web = konta(p).services.web!;
    expect(oracle.ports).toBeUndefined();
    expect(web.ports).toBeUndefined();
    expect(web.environment).toEqual(oracle.environment);
    expect(web.environment).toEqual({ B: "2" });
    expect(web.labels).toEqual(oracle.labels);
    expect(web.dns).toEqual(oracle.dns);
  });

  test("an integer with a leading 0 is octal, as go-yaml reads it (YAML 1.2 would make 0755 the decimal 755)", () => {
    const p = project({
      "compose.yaml": "services:\n  web:\n    image: busybox\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs: { mode: 0755 }\n    stop_grace_period: 010s\n    cpu_shares: 010\n",
    });
    const oracle = composeConfig(p.dir, p.name).services.web;
    const web = konta(p).services.web!;
    expect(web.volumes?.[0]).toMatchObject({ tmpfs: { mode: oracle.volumes[0].tmpfs.mode } });
    expect(oracle.volumes[0].tmpfs.mode).toBe(0o755);
    expect(web.cpu_shares).toBe(oracle.cpu_shares);
  });

  test("the override file is found whatever the main file is called, in Compose's order", () => {
    const p = project({
      "compose.yaml": "services:\n  web:\n    image: busybox\n",
      "docker-compose.override.yml": "services:\n  web:\n    environment: { FROM: override }\n",
    });
    expect(konta(p).services.web!.environment).toEqual(composeConfig(p.dir, p.name).services.web.environment);
    expect(konta(p).files).toEqual(["compose.yaml", "docker-compose.override.yml"]);
  });

  test("docker-compose.yml wins over docker-compose.yaml, as in compose-go", () => {
    const p = project({
      "docker-compose.yaml": "services:\n  web:\n    image: busybox:yaml\n",
      "docker-compose.yml": "services:\n  web:\n    image: busybox:yml\n",
    });
    const web = konta(p).services.web!;
    expect(web.image).toBe(composeConfig(p.dir, p.name).services.web.image);
    expect(web.image).toBe("busybox:yml");
    expect(konta(p).warnings.join("\n")).toContain("docker-compose.yaml is ignored");
  });

  test("COMPOSE_FILE and COMPOSE_PATH_SEPARATOR in the project's .env choose the files", () => {
    const p = project({
      ".env": "COMPOSE_PATH_SEPARATOR=,\nCOMPOSE_FILE=base.yml,prod.yml\n",
      "base.yml": "services:\n  web:\n    image: busybox\n    environment: { LAYER: base }\n",
      "prod.yml": "services:\n  web:\n    environment: { LAYER: prod }\n",
      "compose.yaml": "services:\n  other:\n    image: busybox\n",
    });
    const model = konta(p);
    expect(Object.keys(model.services)).toEqual(Object.keys(composeConfig(p.dir, p.name).services));
    expect(model.services.web!.environment).toEqual({ LAYER: "prod" });
    expect(model.files).toEqual(["base.yml", "prod.yml"]);
  });

  test("COMPOSE_PROJECT_NAME in .env is ignored, with a warning (projects are named after their folder)", () => {
    const p = project({ ".env": "COMPOSE_PROJECT_NAME=other\n", "compose.yaml": "services:\n  web:\n    image: busybox\n    environment: { P: $COMPOSE_PROJECT_NAME }\n" });
    const model = konta(p);
    expect(model.services.web!.environment).toEqual({ P: p.name });
    expect(model.warnings.join("\n")).toContain("COMPOSE_PROJECT_NAME=other is ignored");
  });

  test("mem_limit: 1gi (Docker's size parser) is 1 GiB", () => {
    const p = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    mem_limit: 1gi\n    shm_size: 64MiB\n" });
    const oracle = composeConfig(p.dir, p.name).services.web;
    const web = konta(p).services.web!;
    expect(web.mem_limit).toBe(Number(oracle.mem_limit));
    expect(web.mem_limit).toBe(1 << 30);
    expect(web.shm_size).toBe(Number(oracle.shm_size));
  });

  test("${VAR} inside an env_file: the project's variables first, then the file's own lines and earlier files", () => {
    const p = project({
      ".env": "A=dotenv\nC=fromdot\n",
      "app.env": "A=file\nB=${A}\nD=${C}\nE=${UNSET:-dflt}\nX=own\nY=${X}\n",
      "more.env": "F=${X}\n",
      "compose.yaml": "services:\n  web:\n    image: busybox\n    env_file: [app.env, more.env]\n",
    });
    const web = konta(p).services.web!;
    expect(web.environment).toEqual(composeConfig(p.dir, p.name).services.web.environment);
    expect(web.environment).toMatchObject({ A: "file", B: "dotenv", Y: "own", F: "own" });
  });

  test("${VAR} inside .env: the process environment first", () => {
    const p = project({ ".env": "A=1\nB=${A}\n", "compose.yaml": "services:\n  web:\n    image: busybox\n    environment: { X: $B, Y: $A }\n" });
    const web = konta(p, { A: "2" }).services.web!;
    expect(web.environment).toEqual(composeConfig(p.dir, p.name, { A: "2" }).services.web.environment);
    expect(web.environment).toEqual({ X: "2", Y: "2" });
  });

  test("entrypoint: [] stays an empty list (sent to the engine as [], as Compose does)", () => {
    const p = project({ "compose.yaml": "services:\n  web:\n    image: busybox\n    entrypoint: []\n" });
    expect(konta(p).services.web!.entrypoint).toEqual(composeConfig(p.dir, p.name).services.web.entrypoint);
  });

  test("depends_on restart: true is kept in the model", () => {
    const p = project({ "compose.yaml": "services:\n  db:\n    image: busybox\n  app:\n    image: busybox\n    depends_on: { db: { condition: service_started, restart: true } }\n" });
    expect(konta(p).services.app!.depends_on).toEqual({ db: { condition: "service_started", restart: true, required: true } });
    expect(composeConfig(p.dir, p.name).services.app.depends_on.db.restart).toBe(true);
  });
});

describe("a bind source that is a symlink inside the repository", () => {
  test("is digested by the content it points to: changing that content changes the service", () => {
    const files = { "conf.d/real.conf": "v1\n", "current.conf": { symlink: "conf.d/real.conf" }, "compose.yaml": "services:\n  web:\n    image: busybox\n    volumes: [./current.conf:/etc/app.conf:ro]\n" };
    const a = project(files, "sym");
    const b = project({ ...files, "conf.d/real.conf": "v2\n" }, "sym");
    const digest = (p: typeof a) => (konta(p).services.web!.volumes![0] as { digest?: string }).digest;
    expect(digest(a)).toBeDefined();
    expect(digest(a)).not.toBe(digest(b));
  });
});
