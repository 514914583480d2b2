// The product's promise, tested: a 512 MB server (a server box limited with --memory 512m
// --memory-swap 512m) whose apps already hold 260 MB (a tmpfs filled in the box) takes the first
// sync of a 32 MB repository under the real konta.service without an OOM kill. The Git server
// runs outside the box, as GitHub would: only the server's own processes count against its memory.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type GitServer, startGitServer } from "../support/git-server.ts";
import { kontaBinary } from "../support/konta.ts";
import { TestRepo } from "../support/repo.ts";
import { Box, SRC } from "./box.ts";

const TOKEN = "small-box-token-9d2e4f";
const FILL_MB = 260;

let box: Box;
let server: GitServer;
let repo: TestRepo;
let tmp: string;

beforeAll(async () => {
  kontaBinary();
  tmp = mkdtempSync("/var/tmp/konta-small-");
  repo = new TestRepo(join(tmp, "git"), "big");
  const files: Record<string, string> = {
    "apps/web/docker-compose.yml": `services:
  web:
    image: konta-test/busybox:1
    init: true
    command: ["sleep", "86400"]
    labels: { konta.managed: "true" }
`,
  };
  // 2,000 files of random data, 32 MB (a 24 MB pack: base64 compresses to its 6 bits a character)
  for (let i = 0; i < 2000; i++) files[`data/${i % 20}/f${i}.bin`] = randomBytes(12_600).toString("base64");
  repo.write(files).commit("a large repository");
  server = await startGitServer({ root: join(tmp, "git"), token: TOKEN, host: "0.0.0.0" });
  box = await Box.start({ name: "kt-small-box", memory: "512m" });
  // the test images (no GIT_TOKEN: no Git server in the box)
  await box.sh(`bash ${SRC}/tests/server/box-setup.sh`);
}, 600_000);

afterAll(async () => {
  if (process.env.KONTA_KEEP_BOX) console.log(`kept the box: docker exec -it ${box?.name} bash`);
  else box?.remove();
  await server?.close();
  repo?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test(`512 MB, ${FILL_MB} MB already taken: konta.service's first sync of the 32 MB repository is not OOM-killed`, async () => {
  const host = (await box.sh("ip route | awk '/default/ {print $3}'")).trim();
  // installed with an https:// URL (install refuses a token over plain HTTP), then pointed at the
  // Git server on the box's network, declared trusted, as an operator would edit it
  await box.sh(
    `cd /root && bash ${SRC}/packaging/install.sh --binary ${SRC}/dist/konta --checksum-file ${SRC}/dist/konta-linux-x64.sha256 -- --repo https://${host}:${server.port}/big.git --branch main --no-enable`,
    { input: `${TOKEN}\n` },
  );
  await box.sh("sed -i 's#https://#http://#; s/^repository:/repository:\\n  allow_insecure_http: true/' /etc/konta/config.yaml && grep -q 'url: \"http://' /etc/konta/config.yaml");
  // the apps' memory: a tmpfs file is charged to the box like any process's memory
  await box.sh(`dd if=/dev/zero of=/tmp/apps-memory bs=1M count=${FILL_MB} status=none`);
  const before = box.oomKills();
  expect(before).toBe(0);

  const run = await box.exec("systemctl start konta.service");
  const result = (await box.sh("systemctl show konta.service -p Result --value")).trim();
  const journal = await box.sh("journalctl -u konta.service --no-pager -o cat");
  expect(box.oomKills()).toBe(before);
  expect({ code: run.code, result, journal }).toMatchObject({ code: 0, result: "success" });
  expect(journal).toContain(`deployed ${repo.head().slice(0, 12)}`);
  expect((await box.sh("docker inspect -f '{{.State.Running}}' web-web-1")).trim()).toBe("true");
  expect((await box.sh(`ls /var/lib/konta/releases/${repo.head()}/data | wc -l`)).trim()).toBe("20");
}, 300_000);
