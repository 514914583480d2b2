// The validators in lib/generated are compiled from the schemas ahead of time: a schema changed
// without regenerating them would validate against the old one.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_DIR, generateValidators } from "../../packaging/validators.ts";

describe("generated validators", () => {
  test.each([...generateValidators()])("%s matches its schema (else run `bun packaging/validators.ts`)", (file, source) => {
    expect(readFileSync(join(GENERATED_DIR, file), "utf8")).toBe(source);
  });
});
