// Issue "rollback restores what ran", engine target: a tag that moved between two releases does not
// decide what a rollback runs; the image IDs each release ran (state.ran) do, for `konta rollback`
// and for the automatic rollback after a failed gate. An image gone from the host that no registry
// has stops the rollback before anything changes.
import { afterAll, describe, expect, test } from "bun:test";
import { compose, httpService } from "../support/compose.ts";
import { freePort, httpGet, IMAGE, IMAGE2, inspect, sh, TEST_LABEL, waitFor } from "../support/docker.ts";
import { useRig } from "../support/rig.ts";

const rig = useRig();
const MOVING = "konta-test/moving:1";
const made: string[] = [MOVING];

afterAll(() => {
  for (const image of made) sh("docker", ["rmi", "-f", image]);
});

const tag = (image: string, as: string) => sh("docker", ["tag", image, as]);
const imageId = (ref: string) => sh("docker", ["image", "inspect", "-f", "{{.Id}}", ref]).trim();

/** An image of its own (a new ID) from IMAGE, serving `page`; tagged `as`. */
function uniqueImage(as: string, page: string): string {
  const c = sh("docker", ["create", "--label", `${TEST_LABEL}=1`, IMAGE, "true"]).trim();
  try {
    sh("docker", ["commit", "--change", `LABEL konta.test.page=${page}`, c, as]);
  } finally {
    sh("docker", ["rm", "-f", c]);
  }
  made.push(as);
  return imageId(as);
}

describe("rollback runs the images a release ran", () => {
  test("konta rollback <sha> brings back the image v1 ran although its tag moved; the automatic rollback too", async () => {
    const port = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-rbimg/docker-compose.yml";
    const web = (v: string, extra: Record<string, unknown> = {}) => compose({ services: { web: httpService(port, { image: MOVING, environment: { V: v }, ...extra }) } });
    const env = rig.env(repo);

    tag(IMAGE, MOVING);
    const v1 = repo.write({ [file]: web("1") }).commit("v1 on the moving tag");
    await env.ok(["sync"]);
    expect(await waitFor(() => httpGet(port), 30_000, "v1")).toBe("image 1\n");

    // the tag moves (a pull, a build, a push elsewhere), then a commit deploys what it points at now
    tag(IMAGE2, MOVING);
    const v2 = repo.write({ [file]: web("2") }).commit("v2");
    await env.ok(["sync"]);
    expect(await httpGet(port)).toBe("image 2\n");
    expect(env.readState().ran[v1]["kt-rbimg"].web.id).toBe(imageId(IMAGE));
    expect(env.readState().ran[v2]["kt-rbimg"].web.id).toBe(imageId(IMAGE2));

    const r = await env.run(["rollback", v1]);
    expect(r.code, r.all).toBe(0);
    expect((await inspect("kt-rbimg-web-1"))?.Image).toBe(imageId(IMAGE));
    expect(await httpGet(port)).toBe("image 1\n");
    // what runs is what state expects: no drift, the tag unchanged
    const held = await env.run(["sync"]);
    expect(held.all).toContain(`held at ${v1.slice(0, 12)}`);
    expect(held.all).not.toContain("drift");
    expect(imageId(MOVING)).toBe(imageId(IMAGE2));

    // back to v2 (a new commit lifts the hold), then the tag moves again before a commit that fails
    // its gate: the automatic rollback puts back the image v3's predecessor ran, not the tag's
    const v3 = repo.write({ [file]: web("3") }).commit("v3");
    await env.ok(["sync"]);
    expect(await httpGet(port)).toBe("image 2\n");
    tag(IMAGE, MOVING);
    repo.write({ [file]: web("4", { healthcheck: { test: ["CMD", "false"], interval: "500ms", retries: 1 } }) }).commit("v4 fails its gate");
    const bad = await env.run(["sync"]);
    expect(bad.code, bad.all).toBe(1);
    expect(bad.all).toContain("rolled back");
    expect((await inspect("kt-rbimg-web-1"))?.Image).toBe(imageId(IMAGE2));
    expect(await waitFor(() => httpGet(port), 30_000, "v3 again")).toBe("image 2\n");
    expect(env.readState().current.sha).toBe(v3);
  });

  test("an image gone from the host that no registry has: exit 1 naming the service, nothing changed", async () => {
    const port = await freePort();
    const repo = rig.repo();
    const file = "apps/kt-rbgone/docker-compose.yml";
    const ref = "konta-test/rbgone:1";
    made.push(ref);
    const web = (v: string) => compose({ services: { web: httpService(port, { image: ref, environment: { V: v } }) } });
    const env = rig.env(repo);

    const a = uniqueImage(ref, "a");
    const v1 = repo.write({ [file]: web("1") }).commit("v1");
    await env.ok(["sync"]);
    const b = uniqueImage(ref, "b");
    const v2 = repo.write({ [file]: web("2") }).commit("v2");
    await env.ok(["sync"]);
    const running = (await inspect("kt-rbgone-web-1"))?.Id;
    expect((await inspect("kt-rbgone-web-1"))?.Image).toBe(b);
    sh("docker", ["rmi", a]);

    const r = await env.run(["rollback", v1]);
    expect(r.code, r.all).toBe(1);
    expect(r.all).toContain(`kt-rbgone/web ran ${ref} (${a.slice(0, 19)}), which is no longer on this host`);
    expect(r.all).toContain("nothing was changed");
    expect((await inspect("kt-rbgone-web-1"))?.Id).toBe(running as string);
    const st = env.readState();
    expect(st.current.sha).toBe(v2);
    expect(st.hold).toBeUndefined();
  });
});
