// Issue "Refuse in the pull request": `konta check` on a working tree answers as a sync would, with
// no Git server, engine, token or root. Held against `konta plan` (a dry run of the sync, against a
// real engine and Git server) on every Compose fixture of the suite and on projects shaped like
// docker/awesome-compose's; every refusal with its file and line; the formats CI reads.
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runKonta } from "../support/konta.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const FIXTURES = join(import.meta.dir, "../fixtures/compose");
const OPTIONS = JSON.parse(readFileSync(join(FIXTURES, "options.json"), "utf8")) as Record<string, { env?: Record<string, string>; passthrough?: string[]; profiles?: string[]; hostEnv?: string }>;

/** A working tree: the files of `tree` written under a new folder. */
function workTree(tree: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "konta-check-"));
  for (const [f, text] of Object.entries(tree)) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

/** Shaped like docker/awesome-compose's projects: builds, secrets from files, healthchecks, depends_on conditions, networks, configs. */
const AWESOME: Record<string, Record<string, string>> = {
  "nginx-flask-mysql": {
    "compose.yaml":
      'services:\n  backend:\n    build:\n      context: backend\n      target: builder\n    restart: always\n    secrets: [db-password]\n    environment: [MYSQL_DATABASE=example]\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: mariadb:10-focal\n    command: "--default-authentication-plugin=mysql_native_password"\n    restart: always\n    healthcheck:\n      test: ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1 --password=\\"$$(cat /run/secrets/db-password)\\" --silent"]\n      interval: 3s\n      retries: 5\n      start_period: 30s\n    secrets: [db-password]\n    volumes: [db-data:/var/lib/mysql]\n    environment:\n      - MYSQL_DATABASE=example\n      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db-password\n    expose: [3306, 33060]\n  proxy:\n    image: nginx\n    restart: always\n    ports: ["80:80"]\n    depends_on: [backend]\nvolumes:\n  db-data: {}\nsecrets:\n  db-password:\n    file: db/password.txt\n',
    "db/password.txt": "db-78n9n\n",
    "backend/Dockerfile": "FROM python:3.10-alpine AS builder\n",
  },
  "react-express-mongodb": {
    "compose.yaml":
      "services:\n  frontend:\n    build:\n      context: frontend\n    ports: [\"3000:3000\"]\n    stdin_open: true\n    volumes: [./frontend:/usr/src/app, /usr/src/app/node_modules]\n    restart: always\n    networks: [react-express]\n    depends_on: [backend]\n  backend:\n    restart: always\n    build:\n      context: backend\n    volumes: [./backend:/usr/src/app, /usr/src/app/node_modules]\n    depends_on: [mongo]\n    networks: [express-mongo, react-express]\n    expose: [3000]\n  mongo:\n    restart: always\n    image: mongo:4.2.0\n    volumes: [mongo_data:/data/db]\n    networks: [express-mongo]\n    expose: [27017]\nnetworks:\n  react-express: {}\n  express-mongo: {}\nvolumes:\n  mongo_data: {}\n",
    "frontend/Dockerfile": "FROM node:lts\n",
    "backend/Dockerfile": "FROM node:lts\n",
  },
  "prometheus-grafana": {
    "compose.yaml":
      "services:\n  prometheus:\n    image: prom/prometheus\n    container_name: prometheus\n    command: ['--config.file=/etc/prometheus/prometheus.yml']\n    ports: [9090:9090]\n    restart: unless-stopped\n    volumes: [./prometheus:/etc/prometheus, prom_data:/prometheus]\n  grafana:\n    image: grafana/grafana\n    container_name: grafana\n    ports: [3000:3000]\n    restart: unless-stopped\n    environment:\n      - GF_SECURITY_ADMIN_USER=admin\n      - GF_SECURITY_ADMIN_PASSWORD=grafana\n    volumes: [./grafana:/etc/grafana/provisioning/datasources]\nvolumes:\n  prom_data:\n",
    "prometheus/prometheus.yml": "global:\n  scrape_interval: 15s\n",
    "grafana/datasource.yml": "apiVersion: 1\n",
  },
  "wordpress-mysql": {
    "compose.yaml":
      "services:\n  db:\n    image: mariadb:10.6.4-focal\n    command: '--default-authentication-plugin=mysql_native_password'\n    volumes: [db_data:/var/lib/mysql]\n    restart: always\n    environment:\n      - MYSQL_ROOT_PASSWORD=somewordpress\n      - MYSQL_DATABASE=wordpress\n    expose: [3306, 33060]\n  wordpress:\n    image: wordpress:latest\n    volumes: [wp_data:/var/www/html]\n    ports: [80:80]\n    restart: always\n    environment:\n      - WORDPRESS_DB_HOST=db\n      - WORDPRESS_DB_NAME=wordpress\nvolumes:\n  db_data:\n  wp_data:\n",
  },
  "minecraft": {
    "compose.yaml": 'services:\n minecraft:\n   image: itzg/minecraft-server\n   ports: ["25565:25565"]\n   environment:\n     EULA: "TRUE"\n   deploy:\n     resources:\n       limits:\n         memory: 1.5G\n   volumes: ["~/minecraft_data:/data"]\n',
  },
  "traefik-golang": {
    "compose.yaml":
      'services:\n  frontend:\n    image: traefik:2.6\n    command: --providers.docker --entrypoints.web.address=:80 --providers.docker.exposedbydefault=false\n    ports: ["80:80"]\n    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n    depends_on: [backend]\n  backend:\n    build: backend\n    labels:\n      - "traefik.enable=true"\n      - "traefik.http.routers.go.rule=Path(`/`)"\n      - "traefik.http.services.go.loadbalancer.server.port=80"\n',
    "backend/Dockerfile": "FROM golang:1.18\n",
  },
};

/** The fixture projects, each as its own working tree (with the shared files they read). */
function fixtureTree(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "konta-check-fx-"));
  cpSync(join(FIXTURES, "_shared"), join(dir, "_shared"), { recursive: true });
  cpSync(join(FIXTURES, "apps", name), join(dir, "apps", name), { recursive: true });
  return dir;
}

/** `konta plan` of the tree as a server would see it (`hostEnv` in its env file, `env` passed through) vs `konta check --strict` of the tree. */
async function compare(name: string, tree: string, o: (typeof OPTIONS)[string] = {}): Promise<{ plan: number; check: number; checked: string }> {
  const repo = rig.repo();
  const files: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(tree, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else files[r] = readFileSync(join(tree, r), "utf8");
    }
  };
  walk("");
  repo.write(files).commit(name);
  const env = rig.env(repo, { deploy: { auto_create_external_networks: true, ...(o.passthrough ? { env_passthrough: o.passthrough } : {}), ...(o.profiles ? { profiles: o.profiles } : {}) } });
  if (o.hostEnv) for (const project of readdirSync(join(tree, "apps"))) env.writeHostEnv(project, o.hostEnv);
  const plan = await env.run(["plan"], { env: o.env ?? {} });
  const check = await runKonta(["check", tree, "--strict", "--config", env.config], { env: o.env ?? {} });
  return { plan: plan.code, check: check.code, checked: `${check.stdout}\n--- plan:\n${plan.all}` };
}

const verdict = (code: number) => (code === 0 || code === 10 ? "accepted" : code === 2 ? "refused" : `exit ${code}`);

describe("konta check answers as konta plan does", () => {
  const fixtures = readdirSync(join(FIXTURES, "apps")).sort();
  test(`every Compose fixture of the suite (${fixtures.length})`, async () => {
    const differ: string[] = [];
    for (const name of fixtures) {
      const tree = fixtureTree(name);
      try {
        const r = await compare(name, tree, OPTIONS[name]);
        if (verdict(r.plan) !== verdict(r.check) || !["accepted", "refused"].includes(verdict(r.plan))) differ.push(`${name}: plan ${verdict(r.plan)}, check ${verdict(r.check)}\n${r.checked}`);
      } finally {
        rmSync(tree, { recursive: true, force: true });
      }
    }
    expect(differ).toEqual([]);
  }, 600_000);

  test("projects shaped like docker/awesome-compose's, and refused variants of them", async () => {
    const cases: [string, Record<string, string>, "accepted" | "refused"][] = [
      ...Object.entries(AWESOME).map(([n, files]) => [n, files, "accepted"] as [string, Record<string, string>, "accepted"]),
      // two replicas behind one host port; a secret file that is missing; an undeclared network
      ["replicas-one-port", { "compose.yaml": 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n    deploy: { replicas: 2 }\n' }, "refused"],
      ["missing-secret", { "compose.yaml": "services:\n  db:\n    image: mariadb\n    secrets: [pw]\nsecrets:\n  pw: { file: ./nope.txt }\n" }, "refused"],
      ["undeclared-network", { "compose.yaml": "services:\n  web:\n    image: nginx\n    networks: [front]\n" }, "refused"],
    ];
    const differ: string[] = [];
    for (const [name, files, expected] of cases) {
      const tree = workTree(Object.fromEntries(Object.entries(files).map(([f, t]) => [`apps/${name}/${f}`, t])));
      try {
        const r = await compare(name, tree);
        if (verdict(r.plan) !== expected || verdict(r.check) !== expected) differ.push(`${name}: expected ${expected}, plan ${verdict(r.plan)}, check ${verdict(r.check)}\n${r.checked}`);
      } finally {
        rmSync(tree, { recursive: true, force: true });
      }
    }
    expect(differ).toEqual([]);
  }, 300_000);
});

describe("konta check, as CI runs it", () => {
  const bad = () =>
    workTree({
      "apps/shop/compose.yaml": 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n    deploy: { replicas: 2 }\n    labels: { konta.managed: "true" }\n',
      "apps/blog/compose.yaml": 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n    labels: { konta.managed: "true" }\n  db:\n    image: mariadb\n    environment: { PW: "${DB_PW:?set DB_PW}" }\n',
      "apps/api/compose.yaml": "services:\n  app:\n    image: [broken\n",
    });

  test("every refusal with its file and line, not the first only; what only the server has a note; exit 2", async () => {
    const dir = bad();
    try {
      const r = await runKonta(["check", dir]);
      expect(r.code).toBe(2);
      // a YAML error, a rule of the engine, and a host port two projects want
      expect(r.stdout).toMatch(/^error apps\/api\/compose\.yaml:4: invalid YAML/m);
      expect(r.stdout).toMatch(/^error apps\/shop\/compose\.yaml:4: services\.web\.ports: host port 8080 can be bound by one container only/m);
      expect(r.stdout).toMatch(/^error apps\/shop\/compose\.yaml:4: services\.web\.ports: host port 8080\/tcp is asked for by blog too/m);
      // the variable only the server sets: a note, and blog is checked on with a stand-in
      expect(r.stdout).toMatch(/^note  DB_PW is required and not set here/m);
      expect(r.stdout).toContain("refused: 3 error(s)");
      // with --strict it is a refusal too
      const strict = await runKonta(["check", dir, "--strict"]);
      expect(strict.stdout).toMatch(/^error DB_PW is required/m);
      // and --json says the same
      const json = JSON.parse((await runKonta(["check", dir, "--format", "json"])).stdout) as { accepted: boolean; findings: { level: string; file?: string; line?: number }[] };
      expect(json.accepted).toBe(false);
      expect(json.findings.filter((f) => f.level === "error").map((f) => `${f.file}:${f.line}`)).toEqual(["apps/api/compose.yaml:4", "apps/shop/compose.yaml:4", "apps/shop/compose.yaml:4"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--format github: valid workflow commands, on the right files and lines", async () => {
    const dir = bad();
    try {
      const r = await runKonta(["check", dir, "--format", "github"]);
      expect(r.code).toBe(2);
      const lines = r.stdout.trim().split("\n");
      for (const l of lines) expect(l).toMatch(/^::(error|notice) (file=[^,:]+,(line=\d+,)?)?title=[^:,]+::\S.*$/);
      const shop = lines.find((l) => l.includes("one container only")) as string;
      expect(shop).toStartWith("::error file=apps/shop/compose.yaml,line=4,title=konta check::");
      // a message's own line breaks and percent signs are escaped, not lost
      const decode = (s: string) => s.replaceAll("%0A", "\n").replaceAll("%0D", "\r").replaceAll("%25", "%");
      expect(decode(shop.split("::")[2] as string)).toContain("host port 8080 can be bound by one container only");
      expect(lines.some((l) => l.startsWith("::notice title=konta check%3A known only on the server::DB_PW"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--format gitlab: a Code Quality report", async () => {
    const dir = bad();
    try {
      const r = await runKonta(["check", dir, "--format", "gitlab"]);
      const report = JSON.parse(r.stdout) as Record<string, unknown>[];
      expect(report.length).toBe(4);
      for (const issue of report) {
        expect(typeof issue.description).toBe("string");
        expect(typeof issue.check_name).toBe("string");
        expect(issue.fingerprint).toMatch(/^[0-9a-f]{64}$/);
        expect(["info", "minor", "major", "critical", "blocker"]).toContain(issue.severity as string);
        const loc = issue.location as { path: string; lines: { begin: number } };
        expect(typeof loc.path).toBe("string");
        expect(Number.isInteger(loc.lines.begin)).toBe(true);
      }
      expect(new Set(report.map((i) => i.fingerprint)).size).toBe(report.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--config: its restrictions and repository.path apply; --target swarm: the swarm's rules", async () => {
    const dir = workTree({
      "infra/apps/app/compose.yaml": "services:\n  app:\n    image: nginx\n    privileged: true\n    deploy: { replicas: 2 }\n    container_name: one\n",
      "konta.yaml": "version: 1\nrepository:\n  url: https://example.com/infra.git\n  path: infra\ndeploy:\n  allow_privileged: false\n",
    });
    try {
      const r = await runKonta(["check", dir, "--config", join(dir, "konta.yaml")]);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain("error infra/apps/app/compose.yaml:4: services.app.privileged");
      writeFileSync(join(dir, "konta.yaml"), "version: 1\nrepository:\n  url: https://example.com/infra.git\n  path: infra\n");
      // one engine cannot run two replicas named one; a swarm names its tasks itself
      expect((await runKonta(["check", dir, "--config", join(dir, "konta.yaml")])).stdout).toContain("services.app.container_name");
      const swarm = await runKonta(["check", dir, "--config", join(dir, "konta.yaml"), "--target", "swarm"]);
      expect(swarm.stdout).not.toContain("services.app.container_name: container_name");
      expect(existsSync(join(dir, ".konta-check-no-age-key"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
