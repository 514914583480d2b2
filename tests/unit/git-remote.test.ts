import { expect, test } from "bun:test";
import { parseAdvertisement } from "../../lib/git/remote.ts";
import { fetchPack, uploadPackRequest } from "../../lib/git/upload-pack.ts";

const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, "0") + s;
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

test("parses a smart-HTTP ref advertisement, capabilities and peeled tags included", () => {
  const body = `${pkt("# service=git-upload-pack\n")}0000${pkt(`${A} HEAD\0multi_ack side-band-64k symref=HEAD:refs/heads/main\n`)}${pkt(`${A} refs/heads/main\n`)}${pkt(`${B} refs/tags/v1\n`)}${pkt(`${C} refs/tags/v1^{}\n`)}0000`;
  const adv = parseAdvertisement(new TextEncoder().encode(body));
  const refs = adv?.refs;
  expect([...(adv?.capabilities ?? [])]).toEqual(["multi_ack", "side-band-64k", "symref=HEAD:refs/heads/main"]);
  expect(refs?.get("HEAD")).toBe(A);
  expect(refs?.get("refs/heads/main")).toBe(A);
  expect(refs?.get("refs/tags/v1^{}")).toBe(C);
});

test("an empty repository advertises no refs", () => {
  const body = `${pkt("# service=git-upload-pack\n")}0000${pkt(`${"0".repeat(40)} capabilities^{}\0side-band\n`)}0000`;
  expect(parseAdvertisement(new TextEncoder().encode(body))?.refs.get("refs/heads/main")).toBeUndefined();
});

test("anything else is not smart HTTP", () => {
  for (const body of ["<html>login</html>", `${A}\trefs/heads/main\n`, "zzzz", `${pkt(`${A} refs/heads/main\n`)}0000`, "0002"]) {
    expect(parseAdvertisement(new TextEncoder().encode(body))).toBeUndefined();
  }
});

test("the upload-pack request: want with the capabilities the server offers, our shallow commits, depth 1, haves, done", () => {
  const offered = new Set(["multi_ack", "side-band-64k", "side-band", "ofs-delta", "shallow", "no-progress", "thin-pack"]);
  const body = uploadPackRequest({ want: A, haves: [B], shallow: [B, C] }, offered);
  expect(body).toBe(
    `${pkt(`want ${A} side-band-64k ofs-delta shallow no-progress agent=konta\n`)}${pkt(`shallow ${B}\n`)}${pkt(`shallow ${C}\n`)}${pkt("deepen 1\n")}0000${pkt(`have ${B}\n`)}${pkt("done\n")}`,
  );
  // never a thin pack (its deltas would need bases we may not have), never multi_ack
  expect(body).not.toContain("thin-pack");
  expect(body).not.toContain("multi_ack");
});

test("a server without side-band is refused before anything is sent", async () => {
  const src = { url: "http://127.0.0.1:9/x.git", ref: "main", retry: { retries: 0, idleTimeoutMs: 100, baseDelayMs: 1, maxDelayMs: 1 } };
  await expect(fetchPack(src, { refs: new Map(), capabilities: new Set(["shallow"]) }, { want: A, haves: [], shallow: [] }, "/nonexistent/p.pack")).rejects.toThrow(/no side-band/);
});
