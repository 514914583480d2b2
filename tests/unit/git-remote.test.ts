import { expect, test } from "bun:test";
import { parseAdvertisement } from "../../lib/git/remote.ts";

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
