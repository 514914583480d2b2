// The chaos run (issue "Chaos: hundreds of random faults on a server in a box"): Konta under its real
// konta.timer (a 2 s interval) in a systemd+Docker server box, a Git server, a registry and a
// notification sink on the box's loopback, and its state dir on a small loop-mounted ext4 that can
// be filled. A seeded driver picks a step at random — a good, bad or reverted commit, an image
// pushed under a followed tag, `konta rollback`/`resume`, SIGKILL of a running konta, a Docker
// restart, a reboot of the box, the Git server down or hanging, the state disk full, a clock jump —
// lets the timer settle, and checks the invariants. A violation stops the run with the seed, the
// step and the evidence. Used by tests/chaos/chaos.test.ts (a short run) and bench/chaos.ts.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Box, SRC } from "../server/box.ts";
import { sh } from "../support/docker.ts";
import { kontaBinary } from "../support/konta.ts";
import { TestRepo } from "../support/repo.ts";

export const STEP_KINDS = [
  "good",
  "bad-yaml",
  "bad-health",
  "bad-image",
  "revert",
  "image-push",
  "image-push-broken",
  "rollback",
  "resume",
  "kill",
  "docker-restart",
  "reboot",
  "git-down",
  "git-hang",
  "disk-full",
  "clock-jump",
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

// how often each kind is drawn: commits are what a server sees most; the slow faults (a reboot,
// an engine restart) often enough to meet every other state
const WEIGHTS: Record<StepKind, number> = {
  good: 8,
  "bad-yaml": 2,
  "bad-health": 2,
  "bad-image": 2,
  revert: 2,
  "image-push": 2,
  "image-push-broken": 1,
  rollback: 3,
  resume: 2,
  kill: 3,
  "docker-restart": 2,
  reboot: 1,
  "git-down": 2,
  "git-hang": 2,
  "disk-full": 2,
  "clock-jump": 2,
};

export interface ChaosOptions {
  steps: number;
  seed: number;
  /** draw only these kinds (to replay one fault over and over) */
  only?: StepKind[];
  /** the box's name: the long run in bench/ takes its own, so that CI's chaos group can run beside it */
  box?: string;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  steps: number;
  durationMs: number;
  /** steps by kind */
  kinds: Record<StepKind, number>;
  /**
   * steps by kind whose fault took effect (EFFECT says what that is for each): a drawn step that
   * found nothing to disrupt is not counted
   */
  effects: Record<StepKind, number>;
  /** invariant checks passed */
  checks: number;
  /** engine restarts the driver did as an operator, on Konta's word that the engine kept a port (after a power cut or an engine restart) */
  engineRestarts: number;
  /** the steps after which such a restart may come (a reboot, an engine restart): engineRestarts is at most this */
  engineRestartBound: number;
  /** bad commits whose run a fault interrupted: notified once or twice, not exactly once; each with why */
  exemptions: string[];
}

/** What each kind of step did when it took effect, as the run's table words it. */
export const EFFECT: Record<StepKind, string> = {
  good: "the new commit went live",
  "bad-yaml": "refused and notified once",
  "bad-health": "rolled back and notified once",
  "bad-image": "refused and notified once",
  revert: "the reverted tree went live",
  "image-push": "the followed service runs the pushed image",
  "image-push-broken": "the broken digest refused and remembered",
  rollback: "a kept release went live, held",
  resume: "a hold lifted",
  kill: "a running konta SIGKILLed",
  "docker-restart": "the engine restarted",
  reboot: "the box booted again",
  "git-down": "a run could not reach Git",
  "git-hang": "a run could not reach Git",
  "disk-full": "a run hit the full disk",
  "clock-jump": "Konta's clock moved",
};

export class ChaosViolation extends Error {}

/** mulberry32: a small PRNG whose whole state is the seed, so a run is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Content {
  version: number;
  counterV: number;
  extra: boolean;
  bad?: "yaml" | "health" | "image";
}

interface Commit {
  sha: string;
  content: Content;
}

const TOKEN = "chaos-token-3c9e1f";
const REGISTRY = "localhost:5000";
const FOLLOW = `${REGISTRY}/team/follow:latest`;
const STATE = "/var/lib/konta";
const EVENTS = "/var/log/konta-events.jsonl";
const FAKETIME_FILE = "/etc/konta-chaos/faketime";
const FAKETIME_ENV = `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 FAKETIME_TIMESTAMP_FILE=${FAKETIME_FILE}`;

function files(c: Content): Record<string, string | null> {
  const web = c.bad === "yaml"
    ? "services: [broken\n"
    : `services:
  web:
    image: ${c.bad === "image" ? `konta-test/nope:${c.version}` : "konta-test/busybox:1"}
    init: true
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["./html:/www:ro"]
    ports: ["127.0.0.1:18080:8080"]
    environment: { VERSION: "${c.version}" }
    labels: { konta.managed: "true" }
${c.bad === "health" ? '    healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 2 }\n' : ""}`;
  return {
    "apps/web/docker-compose.yml": web,
    "apps/web/html/index.html": `v${c.version}\n`,
    // a counter in a named volume, an id in an anonymous one: what a deploy must never lose
    "apps/counter/docker-compose.yml": `services:
  app:
    image: konta-test/busybox:1
    init: true
    command: ["sh", "-c", "[ -s /scratch/id ] || cat /proc/sys/kernel/random/uuid > /scratch/id; n=$$(cat /data/n 2>/dev/null || echo 0); while :; do n=$$((n+1)); echo $$n > /data/n.tmp && mv /data/n.tmp /data/n; sleep 1; done"]
    environment: { V: "${c.counterV}" }
    volumes: ["data:/data", "/scratch"]
    healthcheck: { test: ["CMD", "test", "-s", "/data/n"], interval: 1s, retries: 30 }
    labels: { konta.managed: "true" }
volumes:
  data: {}
`,
    "apps/follow/docker-compose.yml": `services:
  app:
    image: ${FOLLOW}
    init: true
    command: ["sleep", "3600"]
    labels: { konta.managed: "true", konta.image-updates: "true" }
`,
    "apps/extra/docker-compose.yml": c.extra ? `services:\n  app:\n    image: konta-test/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    labels: { konta.managed: "true" }\n` : null,
  };
}

interface StateJson {
  current?: { sha: string };
  history: { sha: string }[];
  hold?: { sha: string };
  failed?: { sha: string };
  lastAttempt?: { result: string; sha?: string; error?: string };
  ran?: Record<string, Record<string, Record<string, { id: string }>>>;
  imageUpdates?: { checkedAt?: string; failed?: Record<string, string> };
}

/** One chaos run: a box, a repository, the model of what should be live, and the steps. */
class Chaos {
  private box!: Box;
  private repo!: TestRepo;
  private tmp = "";
  private mounted = false;
  private readonly rand: () => number;
  private engineRestarts = 0;
  private engineRestartBound = 0;
  private readonly commits = new Map<string, Commit>();
  private head!: Commit;
  /** what the live release must be once the timer has settled */
  private live = "";
  private held = false;
  /** the image the followed tag should run (the newest good push), and the broken ones pushed */
  private follow = "";
  private readonly brokenImages = new Set<string>();
  /** the last image pushed until Konta has dealt with it: a good one runs, a broken one is recorded as failed */
  private pendingImage: { good: true } | { good: false; digest: string } | undefined;
  private imageRev = 0;
  private version = 0;
  private counter = { last: 0, id: "" };
  /** commits whose runs a fault interrupted: their failure may be notified more than once; with the step that did */
  private readonly disrupted = new Map<string, string>();
  /** the offset libfaketime gives Konta's clock now */
  private clock = "+0";
  private checks = 0;
  private step = 0;
  private kind: StepKind = "good";

  constructor(private readonly opts: ChaosOptions) {
    this.rand = prng(opts.seed);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private disrupt(sha: string): void {
    if (!this.disrupted.has(sha)) this.disrupted.set(sha, `step ${this.step} (${this.kind})`);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)] as T;
  }

  async setUp(): Promise<void> {
    kontaBinary();
    this.tmp = mkdtempSync("/var/tmp/kt-chaos-");
    // the state dir on its own small filesystem, so that it can be filled; a loop-mounted ext4
    // outlives a reboot of the box as a server's disk does
    const state = join(this.tmp, "state");
    mkdirSync(state);
    sh("truncate", ["-s", "192M", join(this.tmp, "state.img")]);
    sh("mkfs.ext4", ["-q", join(this.tmp, "state.img")]);
    sh("mount", ["-o", "loop", join(this.tmp, "state.img"), state]);
    this.mounted = true;
    this.repo = new TestRepo(join(this.tmp, "git"), "infra");
    this.box = await Box.start({ name: this.opts.box ?? "kt-chaos-box", mounts: { [join(this.tmp, "git")]: "/srv/git", [state]: STATE } });
    await this.services();
    await this.box.sh(`echo pw-chaos | docker login -u chaos --password-stdin ${REGISTRY} >/dev/null
      docker tag konta-test/busybox:1 ${FOLLOW} && docker push -q ${FOLLOW} >/dev/null
      mkdir -p /etc/konta-chaos && echo +0 > ${FAKETIME_FILE}`);
    this.follow = await this.imageId(FOLLOW);
    const first = this.commit({ version: ++this.version, counterV: 1, extra: false }, "v1");
    await this.box.sh(
      `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo http://127.0.0.1:8418/infra.git --branch main --interval 10 --no-enable >/dev/null`,
      { input: `${TOKEN}\n` },
    );
    await this.box.sh(`
      # a hung Git server costs a run 5 s per attempt, not the default 30
      sed -i 's/^repository:/repository:\\n  timeout: 5\\n  retries: 1/; s/^deploy:/deploy:\\n  image_update_interval: 10\\n  min_uptime: 1/; s/^  health_timeout: 120/  health_timeout: 30/' /etc/konta/config.yaml
      printf 'notify:\\n  url: http://127.0.0.1:18090/\\n  format: json\\n' >> /etc/konta/config.yaml
      mkdir -p /etc/systemd/system/konta.timer.d /etc/systemd/system/konta.service.d
      # after konta install's own drop-in (konta-install.conf): a 2 s interval, no jitter. One empty
      # assignment resets every trigger of the timer (a second one, before OnUnitInactiveSec, would
      # drop OnBootSec, and no run would come after a reboot)
      printf '[Timer]\\nOnBootSec=\\nOnBootSec=2s\\nOnUnitInactiveSec=2s\\nRandomizedDelaySec=0\\n' > /etc/systemd/system/konta.timer.d/zz-chaos.conf
      # the clock Konta sees: moved by the clock-jump steps
      printf '[Service]\\nEnvironment=${FAKETIME_ENV}\\n' > /etc/systemd/system/konta.service.d/zz-chaos.conf
      systemctl daemon-reload && systemctl enable --now konta.timer >/dev/null 2>&1
      # the first run now: the 2 s interval counts from a previous run
      systemctl start --no-block konta.service`);
    this.live = first.sha;
    await this.settle();
    await this.check();
  }

  /** The box's own services (a real server enables them; these are started again after a reboot). */
  private async services(): Promise<void> {
    await this.box.sh(`GIT_TOKEN=${TOKEN} REGISTRY_USERS="chaos:pw-chaos" bash ${SRC}/tests/server/box-setup.sh`);
    await this.box.sh(`systemctl stop chaos-sink 2>/dev/null || true
      systemd-run --quiet --unit=chaos-sink ${SRC}/node_modules/bun/bin/bun.exe ${SRC}/tests/chaos/sink.ts 18090 ${EVENTS}
      for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:18090/ && exit 0; sleep 0.2; done; exit 1`);
  }

  async tearDown(): Promise<void> {
    if (process.env.KONTA_KEEP_BOX) {
      this.log(`kept the box: docker exec -it ${this.box?.name} bash (state fs mounted at ${join(this.tmp, "state")})`);
      return;
    }
    this.box?.remove();
    this.repo?.dispose();
    // best effort: an error here would hide the run's own (the violation and its evidence)
    if (this.mounted) spawnSync("umount", ["-l", join(this.tmp, "state")]);
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }

  private commit(content: Content, message: string): Commit {
    const sha = this.repo.write(files(content)).commit(message);
    const c = { sha, content };
    this.commits.set(sha, c);
    this.head = c;
    return c;
  }

  /** A good commit: the next version, sometimes a changed counter (recreated over its volumes) or the extra app added or removed. */
  private pushGood(): Commit {
    const prev = this.head.content;
    const content = { version: ++this.version, counterV: prev.counterV + (this.rand() < 0.3 ? 1 : 0), extra: this.rand() < 0.25 ? !prev.extra : prev.extra };
    const c = this.commit(content, `v${content.version}`);
    this.live = c.sha;
    this.held = false;
    return c;
  }

  private pushBad(bad: NonNullable<Content["bad"]>): Commit {
    const c = this.commit({ ...this.head.content, version: ++this.version, bad }, `v${this.version} (bad: ${bad})`);
    // a new commit lifts a hold; the bad one fails and the live release stays
    this.held = false;
    return c;
  }

  private imageId(ref: string): Promise<string> {
    return this.box.sh(`docker image inspect -f '{{.Id}}' ${ref}`).then((s) => s.trim());
  }

  private konta(args: string): Promise<{ code: number; out: string; err: string }> {
    return this.box.exec(`env ${FAKETIME_ENV} konta ${args}`);
  }

  /**
   * SIGKILL konta.service's run, `after` a delay from its start, or (`"engine"`) at the moment the
   * engine reports that the deploy created a container: in the middle of a recreate, with its next
   * requests (start, rename, remove) about to go out. False when no run came, or no create.
   */
  private async killRun(after: number | "engine"): Promise<boolean> {
    const wait = after === "engine"
      ? `coproc EV { exec docker events --filter type=container --filter event=create --filter label=konta.managed=true --format x; }
      read -r -t 60 _ <&"\${EV[0]}"; got=$?; kill "$EV_PID" 2>/dev/null; [ "$got" = 0 ] || exit 3`
      : `for _ in $(seq 1 100); do
        pid=$(systemctl show -p MainPID --value konta.service); [ "$pid" != 0 ] && break; sleep 0.1; done
      [ "$pid" != 0 ] || exit 3
      sleep ${(Number(after) / 1000).toFixed(2)}`;
    const r = await this.box.exec(`${wait}
      pid=$(systemctl show -p MainPID --value konta.service); [ "$pid" != 0 ] || exit 3
      kill -9 "$pid"`);
    return r.code === 0;
  }

  /** A clean reboot (systemd shuts down) or a power cut (everything killed at once), then the box's services. */
  private async reboot(clean: boolean): Promise<void> {
    if (clean) {
      sh("docker", ["kill", "-s", "RTMIN+3", this.box.name]);
      sh("docker", ["wait", this.box.name]);
    } else {
      sh("docker", ["kill", this.box.name]);
    }
    sh("docker", ["start", this.box.name]);
    await this.box.sh("for _ in $(seq 1 180); do s=$(systemctl is-system-running 2>/dev/null || true); case $s in running|degraded) break;; esac; sleep 0.5; done; docker info >/dev/null");
    await this.services();
    await this.box.sh(`echo pw-chaos | docker login -u chaos --password-stdin ${REGISTRY} >/dev/null`);
  }

  /** `konta rollback`, after a new good commit when there is no earlier release to go back to yet. */
  private async rollBack(): Promise<void> {
    let r = await this.konta("rollback --json --wait 120");
    if (r.code === 2 && r.out.includes("no previous release")) {
      this.pushGood();
      await this.settle();
      r = await this.konta("rollback --json --wait 120");
    }
    if (r.code !== 0) throw new ChaosViolation(`konta rollback exited ${r.code}:\n${r.out}${r.err}`);
    this.live = (JSON.parse(r.out) as { sha: string }).sha;
    this.held = true;
  }

  private async resume(): Promise<void> {
    const r = await this.konta("resume --wait 120");
    if (r.code !== 0) throw new ChaosViolation(`konta resume exited ${r.code}:\n${r.out}${r.err}`);
    this.held = false;
    if (!this.head.content.bad) this.live = this.head.sha;
  }

  private async failureNotices(sha: string): Promise<number> {
    return (await this.events()).filter((e) => e.event === "failure" && e.commit === sha && !e.images).length;
  }

  /**
   * Do one step; the returned probe says, once the timer has settled, whether its fault took
   * effect (EFFECT). A step that would find nothing to act on makes the state it needs first (a
   * release to roll back to, a hold to lift, a clock offset it does not have yet).
   */
  private async runStep(kind: StepKind): Promise<() => Promise<boolean>> {
    const box = this.box;
    const wentLive = (c: Commit) => async () => (await this.state()).current?.sha === c.sha;
    const refused = (c: Commit) => async () => (await this.state()).failed?.sha === c.sha && (await this.failureNotices(c.sha)) === 1;
    switch (kind) {
      case "good":
        return wentLive(this.pushGood());
      case "bad-yaml":
        return refused(this.pushBad("yaml"));
      case "bad-health":
        return refused(this.pushBad("health"));
      case "bad-image":
        return refused(this.pushBad("image"));
      case "revert": {
        // the tree of an earlier good commit, as `git revert` of what came after would give
        const good = [...this.commits.values()].filter((c) => !c.content.bad);
        const old = this.pick(good);
        const c = this.commit({ ...old.content }, `revert to v${old.content.version}`);
        this.live = c.sha;
        this.held = false;
        return wentLive(c);
      }
      case "image-push":
      case "image-push-broken": {
        // a hold keeps the images the operator went back to: lifted first, so the push is dealt with
        if (this.held) await this.resume();
        const rev = ++this.imageRev;
        // a new image of its own under the followed tag; a broken one cannot run `sleep`
        const make = kind === "image-push"
          ? `c=$(docker create konta-test/busybox:1 true) && docker commit --change 'LABEL chaos.rev=${rev}' $c chaos/img:${rev} >/dev/null && docker rm $c >/dev/null`
          : `r=$(mktemp -d) && chmod 755 $r && mkdir -p $r/bin && cp /bin/busybox $r/bin/ && ln -s busybox $r/bin/sh && tar -C $r -c . | docker import -c 'LABEL chaos.rev=${rev}' - chaos/img:${rev} >/dev/null`;
        const digest = (await box.sh(`${make} && docker tag chaos/img:${rev} ${FOLLOW} && docker push -q ${FOLLOW} >/dev/null && docker tag ${this.follow} ${FOLLOW}
          docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' chaos/img:${rev} | grep '^${REGISTRY}/team/follow@' | cut -d@ -f2`)).trim();
        const id = await this.imageId(`chaos/img:${rev}`);
        if (kind === "image-push") this.follow = id;
        else this.brokenImages.add(id);
        this.pendingImage = kind === "image-push" ? { good: true } : { good: false, digest };
        return kind === "image-push" ? async () => (await this.followImage()) === id : async () => (await this.state()).imageUpdates?.failed?.[FOLLOW] === digest;
      }
      case "rollback": {
        const from = this.live;
        await this.rollBack();
        return async () => this.held && this.live !== from && (await this.state()).current?.sha === this.live;
      }
      case "resume": {
        if (!this.held) await this.rollBack();
        await this.resume();
        return async () => !(await this.state()).hold;
      }
      case "kill": {
        // half of the kills aimed at the deploy's engine calls, the others at a random moment; a
        // run that ended before the kill came is tried again with a new commit (three times)
        const aimed = this.rand() < 0.5;
        for (let attempt = 0; attempt < 3; attempt++) {
          const c = this.pushGood();
          if (await this.killRun(aimed ? "engine" : Math.floor(this.rand() * 3000))) {
            this.disrupt(c.sha);
            return async () => true;
          }
          await this.settle();
        }
        return async () => false;
      }
      case "docker-restart": {
        const engine = await this.engineInvocation();
        const c = this.rand() < 0.5 ? this.pushGood() : undefined;
        await Bun.sleep(Math.floor(this.rand() * 3000));
        if (c) this.disrupt(c.sha);
        this.disrupt(this.head.sha);
        this.engineRestartBound++;
        await this.restartDocker();
        const after = await this.engineInvocation();
        return async () => after !== engine;
      }
      case "reboot": {
        const booted = this.boxStarted();
        const c = this.rand() < 0.5 ? this.pushGood() : undefined;
        await Bun.sleep(Math.floor(this.rand() * 3000));
        this.disrupt(c?.sha ?? this.head.sha);
        this.engineRestartBound++;
        await this.reboot(this.rand() < 0.5);
        return async () => this.boxStarted() !== booted;
      }
      case "git-down":
      case "git-hang": {
        // down: connections refused; hang: accepted and never answered (the process stopped)
        await box.sh(kind === "git-down" ? "systemctl stop konta-git-server" : "systemctl kill -s STOP konta-git-server");
        if (this.rand() < 0.6) this.pushGood();
        await this.waitRuns(2);
        const during = (await this.state()).lastAttempt;
        await box.sh(kind === "git-down" ? `GIT_TOKEN=${TOKEN} bash ${SRC}/tests/server/box-setup.sh` : "systemctl kill -s CONT konta-git-server");
        return async () => during?.result === "failed";
      }
      case "disk-full": {
        // every byte of the state filesystem taken (root's reserve too), then a commit to check out
        // the journal from here on: its cursor now
        const cursor = /-- cursor: (.*)/.exec(await box.sh("journalctl -u konta.service -n 0 --show-cursor --no-pager"))?.[1] ?? "";
        // (big blocks leave room a small write still takes, as the effect probe found: then smaller ones)
        await box.sh(`for bs in 1M 4k 1; do dd if=/dev/zero of=${STATE}/.chaos-filler-$bs bs=$bs 2>/dev/null || true; done; sync`);
        const c = this.pushGood();
        this.disrupt(c.sha);
        await this.waitRuns(2);
        await box.sh(`rm -f ${STATE}/.chaos-filler-*`);
        const journal = await box.sh(`journalctl -u konta.service ${cursor ? `--after-cursor='${cursor}'` : ""} --no-pager -o cat`);
        if (!/no space left on device/i.test(journal)) this.log(`  disk-full: the runs said:\n${journal.replace(/^/gm, "    ")}`);
        return async () => /no space left on device/i.test(journal);
      }
      case "clock-jump": {
        // an offset Konta's clock does not have now, so the clock does move
        const offset = this.pick(["-2d", "-3h", "+0", "+5h", "+3d"].filter((o) => o !== this.clock));
        await box.sh(`echo ${offset} > ${FAKETIME_FILE}`);
        const moved = offset !== this.clock;
        this.clock = offset;
        return async () => moved && (await box.sh(`cat ${FAKETIME_FILE}`)).trim() === offset;
      }
    }
  }

  /** Each start of docker.service has its own invocation ID. */
  private async engineInvocation(): Promise<string> {
    return (await this.box.sh("systemctl show -p InvocationID --value docker.service")).trim();
  }

  /** When the box (its PID 1) last started, as the host's engine says. */
  private boxStarted(): string {
    return sh("docker", ["inspect", "-f", "{{.State.StartedAt}}", this.box.name]).trim();
  }

  private async events(): Promise<{ event: string; commit: string; images?: string[] }[]> {
    return (await this.box.exec(`cat ${EVENTS}`)).out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { event: string; commit: string; images?: string[] });
  }

  /** The end of konta.service's last run (changes with every run, across reboots). */
  private async lastRunEnd(): Promise<string> {
    return (await this.box.exec("systemctl show -p InactiveEnterTimestampMonotonic,InvocationID --value konta.service")).out.trim();
  }

  private async waitRuns(n: number, timeoutMs = 120_000): Promise<void> {
    let seen = await this.lastRunEnd();
    for (let i = 0; i < n; i++) {
      const from = seen;
      seen = await this.box.poll(`timer run ${i + 1} of ${n}`, async () => {
        const now = await this.lastRunEnd();
        return now !== from ? now : undefined;
      }, timeoutMs);
    }
  }

  /**
   * The timer has settled: two more runs finished, the last one found nothing to do, and (unless a
   * hold pauses image updates) the image last pushed under the followed tag was taken or refused
   * (checks are due every 10 s of Konta's clock).
   */
  private async settle(): Promise<void> {
    const deadline = Date.now() + 180_000;
    for (;;) {
      await this.waitRuns(2);
      const s = await this.state();
      const p = this.pendingImage;
      if (p && !this.held && (p.good ? (await this.followImage()) === this.follow : s.imageUpdates?.failed?.[FOLLOW] === p.digest)) this.pendingImage = undefined;
      const checked = this.held || !this.pendingImage;
      const idle = ["up-to-date", "held", "skipped"].includes(s.lastAttempt?.result ?? "");
      if (idle && checked && s.current?.sha === this.live) return;
      if (s.lastAttempt?.result === "failed" && s.lastAttempt.error?.includes("the Docker engine holds")) {
        // Docker 20.10 keeps a port when it goes down (a power cut, a restart) in the middle of a
        // container's start or removal, and only a restart frees it: Konta says so (exit 3, the
        // commit not blamed); the operator does what it says. After any other step it is a defect
        const port = /holds [^ ]*:(\d+)/.exec(s.lastAttempt.error)?.[1];
        // what the engine and the host say about the port, for the log: the evidence that no container holds it
        const evidence = await this.box.exec(`docker ps -a --format '{{.Names}} {{.State}} {{.Ports}}'; ss -ltnp 'sport = :${port}'`);
        if (this.kind !== "reboot" && this.kind !== "docker-restart") this.fail(`Konta reported a port kept by the engine after a ${this.kind}, which never stops the engine`, `${JSON.stringify(s.lastAttempt)}\n${evidence.out}`);
        this.log(`  the engine kept a port after the ${this.kind} (${s.lastAttempt.error.split(": ")[1]?.slice(0, 60)}); systemctl restart docker, as Konta's message says\n${evidence.out.replace(/^/gm, "    ")}`);
        this.engineRestarts++;
        await this.restartDocker();
      }
      if (Date.now() > deadline) {
        if (!checked) this.fail(`the ${this.pendingImage?.good ? "good" : "broken"} image last pushed under the followed tag was never dealt with`, s.imageUpdates);
        return; // check() reports what differs
      }
    }
  }

  /** As an operator would: systemd's start limit (3 starts in 60 s for docker.service) reset first. */
  private async restartDocker(): Promise<void> {
    await this.box.sh("systemctl reset-failed docker.service docker.socket 2>/dev/null || true; systemctl restart docker");
  }

  private async state(): Promise<StateJson> {
    const text = await this.box.sh(`cat ${STATE}/state.json`);
    try {
      return JSON.parse(text) as StateJson;
    } catch (err) {
      throw new ChaosViolation(`state.json does not parse: ${(err as Error).message}\n${text.slice(0, 2000)}`);
    }
  }

  private async followImage(): Promise<string | undefined> {
    const r = await this.box.exec("docker inspect -f '{{.Image}}' follow-app-1");
    return r.code === 0 ? r.out.trim() : undefined;
  }

  private fail(what: string, evidence: unknown): never {
    throw new ChaosViolation(`${what}\n${typeof evidence === "string" ? evidence : JSON.stringify(evidence, null, 2)}`);
  }

  private async check(): Promise<void> {
    const s = await this.state();
    const aside = (await this.box.sh(`ls -a ${STATE}`)).split("\n").filter((f) => f.includes("corrupt"));
    if (aside.length) this.fail("state.json was found corrupt", aside);
    // current: a complete release of a good commit, the one the model expects
    const target = (await this.box.sh(`readlink ${STATE}/current`)).trim();
    const sha = /([0-9a-f]{40})\/?$/.exec(target)?.[1] ?? "";
    const commit = this.commits.get(sha);
    if (!commit) this.fail(`current points at ${target}, not a pushed commit`, s);
    if (commit.content.bad) this.fail(`a bad commit is live: ${sha} (${commit.content.bad})`, s);
    const onDisk = await this.box.sh(`cat ${STATE}/releases/${sha}/apps/web/docker-compose.yml`);
    if (onDisk !== files(commit.content)["apps/web/docker-compose.yml"]) this.fail(`release ${sha} on disk is not the commit's tree`, onDisk);
    for (const h of s.history) if (this.commits.get(h.sha)?.content.bad) this.fail(`a bad commit was deployed: ${h.sha}`, s.history);
    if (sha !== this.live) this.fail(`live is ${sha.slice(0, 12)} (v${commit.content.version}); expected ${this.live.slice(0, 12)} (v${this.commits.get(this.live)?.content.version})`, s);
    if (!!s.hold !== this.held) this.fail(`hold is ${s.hold ? "set" : "not set"}; expected ${this.held ? "held" : "not held"}`, s);
    if (this.head.content.bad && !this.held && s.failed?.sha !== this.head.sha) this.fail(`the bad head ${this.head.sha.slice(0, 12)} is not recorded as failed`, s);

    // containers: exactly one of each service of the live release, running, at its version
    const c = commit.content;
    const ps = (await this.box.sh("docker ps -a --filter label=konta.managed=true --format '{{.Names}} {{.State}}'")).trim().split("\n").filter(Boolean).sort();
    const want = ["counter-app-1 running", "follow-app-1 running", "web-web-1 running", ...(c.extra ? ["extra-app-1 running"] : [])].sort();
    if (JSON.stringify(ps) !== JSON.stringify(want)) this.fail("the managed containers are not exactly the live release's, running", { ps, want });
    const env = async (name: string) => (await this.box.sh(`docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' ${name}`)).split("\n");
    if (!(await env("web-web-1")).includes(`VERSION=${c.version}`)) this.fail(`web does not run v${c.version}`, await env("web-web-1"));
    if (!(await env("counter-app-1")).includes(`V=${c.counterV}`)) this.fail(`counter does not run V=${c.counterV}`, await env("counter-app-1"));
    const page = (await this.box.exec("curl -fsS --max-time 5 http://127.0.0.1:18080/index.html")).out;
    if (page !== `v${c.version}\n`) this.fail(`the site serves ${JSON.stringify(page)}, not v${c.version}`, page);
    // the release's recorded images are what runs
    for (const [project, services] of Object.entries(s.ran?.[sha] ?? {})) {
      for (const [service, r] of Object.entries(services)) {
        if (project === "follow" && !this.held) continue; // image updates move it on the live release
        const id = (await this.box.sh(`docker inspect -f '{{.Image}}' ${project}-${service}-1`)).trim();
        if (id !== r.id) this.fail(`${project}/${service} runs ${id}, not the image its release ran (${r.id})`, s.ran?.[sha]);
      }
    }
    const follow = await this.followImage();
    if (follow && this.brokenImages.has(follow)) this.fail("the followed service runs a broken image", follow);
    if (!this.held && follow !== this.follow) this.fail(`the followed service runs ${follow}, not the newest good push ${this.follow}`, s.imageUpdates);

    // data: the counter never goes back, the anonymous volume keeps its id
    const n = Number((await this.box.sh("docker exec counter-app-1 cat /data/n")).trim());
    const id = (await this.box.sh("docker exec counter-app-1 cat /scratch/id")).trim();
    if (!(n >= this.counter.last)) this.fail(`the counter went back from ${this.counter.last} to ${n}: the named volume was lost`, n);
    if (this.counter.id && id !== this.counter.id) this.fail(`the anonymous volume's id changed from ${this.counter.id} to ${id}: it was lost`, id);
    this.counter = { last: n, id };

    // every bad commit notified exactly once; one whose run a fault interrupted (listed in the
    // result's exemptions) once or twice. A good commit is notified only when a fault interrupted it
    const events = await this.events();
    const failures = new Map<string, number>();
    // (a failed image update names its images: it is the live commit's, and not a failed deploy)
    for (const e of events) if (e.event === "failure" && !e.images) failures.set(e.commit, (failures.get(e.commit) ?? 0) + 1);
    for (const [commitSha, c] of this.commits) {
      const count = failures.get(commitSha) ?? 0;
      const disrupted = this.disrupted.has(commitSha);
      const bounds = !c.content.bad ? [0, disrupted ? 2 : 0] : disrupted ? [1, 2] : [1, 1];
      if (count < (bounds[0] as number) || count > (bounds[1] as number)) {
        this.fail(`${count} failure notifications for ${c.content.bad ? "bad" : "good"} commit ${commitSha.slice(0, 12)} (v${c.content.version}${disrupted ? `, interrupted at ${this.disrupted.get(commitSha)}` : ""}); expected ${bounds.join(" to ")}`, events.filter((e) => e.commit === commitSha));
      }
    }
    if (this.engineRestarts > this.engineRestartBound) this.fail(`${this.engineRestarts} engine restarts for a kept port after ${this.engineRestartBound} reboots and engine restarts`, this.engineRestarts);
    this.checks++;
  }

  async run(): Promise<ChaosResult> {
    const started = Date.now();
    const kinds = Object.fromEntries(STEP_KINDS.map((k) => [k, 0])) as Record<StepKind, number>;
    const effects = Object.fromEntries(STEP_KINDS.map((k) => [k, 0])) as Record<StepKind, number>;
    const weight = (k: StepKind) => (!this.opts.only || this.opts.only.includes(k) ? WEIGHTS[k] : 0);
    const total = STEP_KINDS.reduce((n, k) => n + weight(k), 0);
    // every kind once first, in a seeded order, so a short run (CI's) meets each fault; then drawn by weight
    const opening = STEP_KINDS.filter((k) => weight(k) > 0);
    for (let i = opening.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [opening[i], opening[j]] = [opening[j] as StepKind, opening[i] as StepKind];
    }
    const draw = (): StepKind => {
      let r = this.rand() * total;
      return STEP_KINDS.find((k) => (r -= weight(k)) < 0) ?? "good";
    };
    try {
      await this.setUp();
      for (this.step = 1; this.step <= this.opts.steps; this.step++) {
        this.kind = opening[this.step - 1] ?? draw();
        kinds[this.kind]++;
        const t = Date.now();
        const probe = await this.runStep(this.kind);
        await this.settle();
        await this.check();
        const took = await probe();
        if (took) effects[this.kind]++;
        this.log(`step ${this.step}/${this.opts.steps} ${this.kind}: ok in ${((Date.now() - t) / 1000).toFixed(1)} s, ${took ? EFFECT[this.kind] : "no effect"} (live v${this.commits.get(this.live)?.content.version}${this.held ? ", held" : ""})`);
      }
    } catch (err) {
      const journal = await this.box.exec("journalctl -u konta.service --no-pager -o cat -n 80").catch(() => ({ out: "" }));
      throw new ChaosViolation(`chaos seed ${this.opts.seed}, step ${this.step} (${this.kind}): ${(err as Error).message}\n--- journal of konta.service:\n${journal.out}`);
    } finally {
      await this.tearDown();
    }
    const exemptions = [...this.disrupted].filter(([sha]) => this.commits.get(sha)?.content.bad).map(([sha, at]) => `${sha.slice(0, 12)} (v${this.commits.get(sha)?.content.version}): interrupted at ${at}`);
    return { seed: this.opts.seed, steps: this.opts.steps, durationMs: Date.now() - started, kinds, effects, checks: this.checks, engineRestarts: this.engineRestarts, engineRestartBound: this.engineRestartBound, exemptions };
  }
}

export function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  return new Chaos(opts).run();
}
