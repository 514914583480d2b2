// lib/base/collate.ts against ICU: the order is inside every config hash, so the two must agree on
// every string, or an upgrade would recreate containers.
import { describe, expect, test } from "bun:test";
import { collate } from "../../lib/base/collate.ts";

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const disagreements = (pairs: Iterable<[string, string]>) => {
  const out: string[] = [];
  for (const [a, b] of pairs) if (Math.sign(collate(a, b)) !== Math.sign(a.localeCompare(b))) out.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
};

describe("collate", () => {
  test("agrees with localeCompare on every pair of printable ASCII characters", () => {
    expect(disagreements(PRINTABLE.flatMap((a) => PRINTABLE.map((b): [string, string] => [a, b])))).toEqual([]);
  });

  test("agrees on every pair of two-character strings over letters of both cases, digits and path punctuation", () => {
    const alphabet = ["a", "A", "b", "B", "z", "Z", "0", "9", "/", "_", "-", ".", " ", ":", "~"];
    const words = alphabet.flatMap((x) => alphabet.map((y) => x + y)).concat(alphabet, [""]);
    expect(disagreements(words.flatMap((a) => words.map((b): [string, string] => [a, b])))).toEqual([]);
  });

  test("agrees on random paths and names, case and prefixes mixed", () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const pool = `aAbBcC01_-./ :=@${PRINTABLE.join("")}`;
    const word = () => Array.from({ length: 1 + rand(8) }, () => pool[rand(pool.length)]).join("");
    const pairs: [string, string][] = [];
    for (let i = 0; i < 50_000; i++) {
      const a = word();
      // often the same string but for one character or its case, where the levels matter
      const b = rand(2) ? a.slice(0, rand(a.length + 1)) + word() : a.replace(/[a-z]/, (c) => c.toUpperCase());
      pairs.push([a, b]);
    }
    expect(disagreements(pairs)).toEqual([]);
  });

  test("anything beyond printable ASCII is ICU's: accents, tabs", () => {
    for (const [a, b] of [["é", "f"], ["e", "é"], ["a\tb", "a b"], ["Å", "b"]] as [string, string][]) expect(Math.sign(collate(a, b))).toBe(Math.sign(a.localeCompare(b)));
    expect(["é", "f", "e"].sort(collate)).toEqual(["e", "é", "f"]);
  });
});
