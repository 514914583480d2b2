// The order Konta sorts names and paths in: JavaScriptCore's default collation (ICU, en-US, which
// Bun uses whatever LANG says). Those orders are inside every config hash, so another order would
// recreate containers after an upgrade; but the collator costs a run ~1.3 MB of RSS (ICU's code
// and tables). Printable ASCII, nearly every name and path, is compared here by the collation's
// own rules for it; anything else still goes to ICU. tests/unit/collate.test.ts checks the two agree.

// Printable ASCII by primary weight, a letter's case folded (ICU root, alternate=non-ignorable).
const PRIMARY = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";
const RANK = new Uint8Array(128);
for (let i = 0; i < PRIMARY.length; i++) {
  const c = PRIMARY.charCodeAt(i);
  RANK[c] = i;
  if (c >= 97 && c <= 122) RANK[c - 32] = i;
}
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Negative, zero or positive, as `a.localeCompare(b)`. */
export function collate(a: string, b: string): number {
  if (!PRINTABLE.test(a) || !PRINTABLE.test(b)) return a.localeCompare(b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (RANK[a.charCodeAt(i)] as number) - (RANK[b.charCodeAt(i)] as number);
    if (d !== 0) return d;
  }
  if (a.length !== b.length) return a.length - b.length;
  // equal but for case: the first difference decides, lower case first
  for (let i = 0; i < n; i++) {
    const d = b.charCodeAt(i) - a.charCodeAt(i);
    if (d !== 0) return d;
  }
  return 0;
}
