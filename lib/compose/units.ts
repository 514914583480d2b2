// Durations ("1m30s", Go syntax) to nanoseconds and sizes ("512m", "1.5GiB") to bytes, as
// Docker Compose parses them.

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export function parseDuration(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid duration ${input}`);
    return Math.round(input * 1e9); // a bare number means seconds
  }
  const s = input.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number.parseFloat(m[1] as string) * (DURATION_UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== s.length) throw new Error(`invalid duration "${input}" (examples: 30s, 1m30s, 500ms)`);
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function parseBytes(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid size ${input}`);
    return Math.round(input);
  }
  // go-units RAMInBytes, as Docker and compose-go parse sizes: 1g, 1gb, 1gi, 1GiB, "1 g" (binary units)
  const m = /^\s*(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?\s*$/i.exec(input);
  if (!m) throw new Error(`invalid size "${input}" (examples: 512m, 1g, 1048576)`);
  return Math.round(Number.parseFloat(m[1] as string) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number));
}
