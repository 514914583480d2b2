// The small parsers under the Compose loader, on the edge cases the specification names.
import { describe, expect, test } from "bun:test";
import { parseDotenv } from "../../lib/compose/dotenv.ts";
import { InterpolationError, interpolateString } from "../../lib/compose/interpolate.ts";
import { mergeService } from "../../lib/compose/merge.ts";
import { parseShortPort } from "../../lib/compose/ports.ts";
import { shellSplit } from "../../lib/compose/shellwords.ts";
import { parseBytes, parseDuration } from "../../lib/compose/units.ts";

const env: Record<string, string> = { SET: "v", EMPTY: "" };
const lookup = (n: string) => env[n];
const i = (s: string) => interpolateString(s, lookup);

describe("interpolation", () => {
  test.each([
    ["$SET", "v"],
    ["${SET}", "v"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${UNSET:-${ALSO:-${SET}}}", "v"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["a${SET}b$SET-c", "avbv-c"],
    ["${UNSET:-a b c}", "a b c"],
    ["no dollar", "no dollar"],
  ])("%s -> %s", (input, expected) => expect(i(input)).toBe(expected));

  test("the word after the operator is only expanded when used", () => {
    expect(i("${SET:-${UNSET:?never evaluated}}")).toBe("v");
  });

  test("required variables fail with their message", () => {
    expect(() => i("${UNSET:?please set UNSET}")).toThrow("required variable UNSET is missing a value: please set UNSET");
    expect(() => i("${EMPTY:?}")).toThrow("EMPTY is missing a value: is not set or empty");
    expect(i("${EMPTY?x}")).toBe("");
    expect(() => i("${UNSET?}")).toThrow(InterpolationError);
  });

  test("malformed expressions are errors, not guesses", () => {
    for (const bad of ["${", "${SET", "${1A}", "${SET#x}"]) expect(() => i(bad)).toThrow(InterpolationError);
  });

  test("a $ that starts no variable is kept, as Compose keeps it", () => {
    expect(i("5$")).toBe("5$");
    expect(i("$ alone")).toBe("$ alone");
    expect(i("$1-$-x")).toBe("$1-$-x");
  });

  test("unset variables are reported", () => {
    const unset: string[] = [];
    expect(interpolateString("[$NOPE]", lookup, { onUnset: (n) => unset.push(n) })).toBe("[]");
    expect(unset).toEqual(["NOPE"]);
  });
});

describe("dotenv", () => {
  test("the formats Compose reads", () => {
    const vars = parseDotenv(
      [
        "# comment",
        "",
        "export A=1",
        "B = spaced ",
        'C="multi',
        'line"',
        "D='no $A expansion'",
        'E="escapes \\t \\" \\\\"',
        "F=${A}-x # comment",
        "G=a#not-a-comment",
        "H",
        "I=",
      ].join("\n"),
      (n) => (n === "H" ? "from-env" : undefined),
    );
    expect(vars).toEqual({ A: "1", B: "spaced", C: "multi\nline", D: "no $A expansion", E: 'escapes \t " \\', F: "1-x", G: "a#not-a-comment", H: "from-env", I: "" });
  });

  test("errors name the line", () => {
    expect(() => parseDotenv("A=1\nnot a var=2\n")).toThrow("line 2");
    expect(() => parseDotenv('A="open\n')).toThrow("unterminated");
  });
});

describe("units", () => {
  test.each([
    ["1m30s", 90e9],
    ["500ms", 5e8],
    ["1.5s", 1.5e9],
    ["1h", 3600e9],
    ["10us", 1e4],
    ["0", 0],
  ])("duration %s", (s, ns) => expect(parseDuration(s)).toBe(ns));
  test.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1GiB", 1024 ** 3],
    ["2kb", 2048],
    ["100", 100],
    ["1.5g", 1.5 * 1024 ** 3],
  ])("size %s", (s, b) => expect(parseBytes(s)).toBe(b));
  test("invalid units are errors", () => {
    expect(() => parseDuration("10")).toThrow();
    expect(() => parseDuration("5 minutes")).toThrow();
    expect(() => parseBytes("lots")).toThrow();
  });
});

describe("ports", () => {
  test("ranges map one to one", () => {
    expect(parseShortPort("9090-9091:8080-8081").map((p) => `${p.published}->${p.target}`)).toEqual(["9090->8080", "9091->8081"]);
  });
  test("IPv6 with and without brackets", () => {
    expect(parseShortPort("[::1]:80:80")[0]).toMatchObject({ host_ip: "::1", published: "80", target: 80 });
    expect(parseShortPort("::1:81:80")[0]).toMatchObject({ host_ip: "::1", published: "81", target: 80 });
  });
  test("bad ports are errors", () => {
    for (const bad of ["abc", "80:70000", "8000-8001:90-99", "80/xyz", "0"]) expect(() => parseShortPort(bad)).toThrow();
  });
});

describe("shell words", () => {
  test.each([
    ["a b  c", ["a", "b", "c"]],
    [`sh -c "echo 'x y'"`, ["sh", "-c", "echo 'x y'"]],
    [`a\\ b 'c d' "e\\"f"`, ["a b", "c d", 'e"f']],
    ["''", [""]],
  ])("%s", (s, words) => expect(shellSplit(s)).toEqual(words));
  test("unterminated quotes are errors", () => expect(() => shellSplit("echo 'x")).toThrow("unterminated"));
});

describe("merge rules", () => {
  test("maps merge, command replaces, keyed sequences merge by key, others append once", () => {
    const base = {
      command: ["a"],
      environment: { A: "1", B: "1" },
      ports: [{ target: 80, published: "8080", protocol: "tcp" }],
      volumes: [{ type: "volume", source: "x", target: "/data" }],
      cap_add: ["NET_ADMIN"],
      healthcheck: { test: ["CMD", "a"], interval: "5s" },
    };
    const over = {
      command: ["b"],
      environment: { B: "2" },
      ports: [{ target: 80, published: "8080", protocol: "tcp" }, { target: 443, published: "8443", protocol: "tcp" }],
      volumes: [{ type: "volume", source: "y", target: "/data" }],
      cap_add: ["NET_ADMIN", "SYS_TIME"],
      healthcheck: { test: ["CMD", "b"] },
    };
    expect(mergeService(base, over)).toEqual({
      command: ["b"],
      environment: { A: "1", B: "2" },
      ports: [{ target: 80, published: "8080", protocol: "tcp" }, { target: 443, published: "8443", protocol: "tcp" }],
      volumes: [{ type: "volume", source: "y", target: "/data" }],
      cap_add: ["NET_ADMIN", "SYS_TIME"],
      healthcheck: { test: ["CMD", "b"], interval: "5s" },
    });
  });
});
