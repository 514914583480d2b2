// Docker Compose v2 as the oracle (tests/support/compose-v2.sh installs it): what `docker compose`
// makes of a project folder, to hold Konta's loader and containers against.
/** Run `docker compose` in `dir` with only `env` (and PATH) in its environment; throws on failure. */
export function dockerCompose(dir: string, project: string, args: string[], env: Record<string, string> = {}): string {
  const r = Bun.spawnSync(["docker", "compose", "-p", project, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`docker compose ${args.join(" ")} in ${dir}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** `docker compose config --format json` of the folder (its default files, or COMPOSE_FILE). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Compose's JSON model
export function composeConfig(dir: string, project: string, env: Record<string, string> = {}): any {
  return JSON.parse(dockerCompose(dir, project, ["config", "--format", "json"], env));
}

