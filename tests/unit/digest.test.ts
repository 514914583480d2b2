// canonicalJson is what every config hash on a container's labels is made of: its output must never
// change (a different byte recreates every container). The fixture corpus (compose-fixtures) pins
// the hashes of real projects; these pin the corners.
import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../lib/base/digest.ts";

describe("canonicalJson", () => {
  test("sorts keys by UTF-16 code units at every level and leaves out undefined values", () => {
    expect(canonicalJson({ b: 1, a: { z: [1, { y: 2, x: undefined }], "é": true, Z: null }, "": "e" })).toBe('{"":"e","a":{"Z":null,"z":[1,{"y":2}],"é":true},"b":1}');
    expect(canonicalJson({ "\u{1F600}": 1, "\uFFFF": 2 })).toBe('{"\u{1F600}":1,"\uFFFF":2}');
  });
  test("writes what JSON cannot hold inside an array as nothing, as Array.join did", () => {
    expect(canonicalJson([1, undefined, null, () => 0])).toBe("[1,,null,]");
  });
  test("scalars and empties are JSON's", () => {
    expect([canonicalJson("a\nb"), canonicalJson(1.5), canonicalJson(null), canonicalJson([]), canonicalJson({})]).toEqual(['"a\\nb"', "1.5", "null", "[]", "{}"]);
  });
});
