// Unpack a pack file (as `git unpack-objects` does) into loose objects, reading it from disk one
// object at a time: memory holds one object (two and a delta for a deltified one), never the pack.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import pako from "pako";
import { failpoint } from "../base/failpoint.ts";
import { reclaimAfter } from "../base/heap.ts";
import { type ObjectType, ObjectWriter, readObject, writeObject } from "./objects.ts";

const TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const WINDOW = 64 * 1024;

export class PackError extends Error {}

/** Sequential reads of a file, with a small look-ahead window. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    public pos = 0,
  ) {}

  /** Up to `n` bytes from the current position, without moving it. */
  peek(n = WINDOW): Buffer {
    const want = Math.min(n, this.size - this.pos);
    let offset = this.pos - this.bufStart;
    if (offset < 0 || offset + want > this.buf.length) {
      this.buf = Buffer.alloc(Math.min(Math.max(want, WINDOW), this.size - this.pos));
      readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      this.bufStart = this.pos;
      offset = 0;
    }
    return this.buf.subarray(offset, offset + want);
  }

  byte(): number {
    if (this.pos >= this.size) throw new PackError("the pack ends in the middle of an object");
    const b = this.peek(1)[0] as number;
    this.pos++;
    return b;
  }
}

interface EntryHeader {
  kind: number;
  size: number;
  baseOffset?: number;
  baseOid?: string;
}

function readEntryHeader(cur: FileCursor): EntryHeader {
  const start = cur.pos;
  let b = cur.byte();
  const kind = (b >> 4) & 7;
  let size = b & 15;
  let shift = 4;
  while (b & 0x80) {
    b = cur.byte();
    size += (b & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (kind === OFS_DELTA) {
    b = cur.byte();
    let back = b & 0x7f;
    while (b & 0x80) {
      b = cur.byte();
      back = (back + 1) * 128 + (b & 0x7f);
    }
    return { kind, size, baseOffset: start - back };
  }
  if (kind === REF_DELTA) {
    const oid = cur.peek(20).toString("hex");
    cur.pos += 20;
    return { kind, size, baseOid: oid };
  }
  if (!TYPES[kind]) throw new PackError(`unknown object type ${kind} at offset ${start}`);
  return { kind, size };
}

/** Inflate the zlib stream at the cursor, handing the output over in chunks; leaves the cursor after it. */
function inflateAt(cur: FileCursor, onData: (chunk: Uint8Array) => void): void {
  // `ended` and `strm.avail_in` (input left over past the stream's end) are pako's, untyped
  const inflator = new pako.Inflate() as pako.Inflate & { ended: boolean; strm: { avail_in: number } };
  inflator.onData = onData;
  while (!inflator.ended) {
    if (cur.pos >= cur.size) throw new PackError("the pack ends in the middle of an object");
    const window = cur.peek();
    inflator.push(window, false);
    if (inflator.err) throw new PackError(`corrupt object data: ${inflator.msg}`);
    cur.pos += window.length - (inflator.ended ? inflator.strm.avail_in : 0);
  }
}

function inflateWhole(cur: FileCursor, size: number): Buffer {
  const out = Buffer.alloc(size);
  let at = 0;
  inflateAt(cur, (chunk) => {
    if (at + chunk.length > size) throw new PackError("an object inflates beyond its stated size");
    out.set(chunk, at);
    at += chunk.length;
  });
  if (at !== size) throw new PackError(`an object of ${size} bytes inflated to ${at}`);
  return out;
}

function varint(data: Uint8Array, at: { i: number }): number {
  let value = 0;
  let shift = 0;
  let b: number;
  do {
    b = data[at.i++] as number;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return value;
}

/** Git's delta format: the target's size, then copies from the base and inserted literals. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Buffer {
  const at = { i: 0 };
  const baseSize = varint(delta, at);
  if (baseSize !== base.length) throw new PackError(`a delta expects a base of ${baseSize} bytes, found ${base.length}`);
  const out = Buffer.alloc(varint(delta, at));
  let o = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++] as number;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) if (op & (1 << bit)) offset += (delta[at.i++] as number) * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (16 << bit)) size += (delta[at.i++] as number) << (8 * bit);
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || o + size > out.length) throw new PackError("a delta copies outside its base");
      out.set(base.subarray(offset, offset + size), o);
      o += size;
    } else if (op) {
      if (o + op > out.length || at.i + op > delta.length) throw new PackError("a delta inserts beyond its target");
      out.set(delta.subarray(at.i, at.i + op), o);
      at.i += op;
      o += op;
    } else {
      throw new PackError("a delta holds the reserved instruction 0");
    }
  }
  if (o !== out.length) throw new PackError(`a delta produced ${o} bytes of the ${out.length} it announced`);
  return out;
}

function verifyChecksum(fd: number, size: number): void {
  if (size < 32) throw new PackError(`the pack is truncated (${size} bytes)`);
  const hash = new Bun.CryptoHasher("sha1");
  const buf = Buffer.alloc(1024 * 1024);
  for (let pos = 0; pos < size - 20; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - 20 - pos), pos);
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  const trailer = Buffer.alloc(20);
  readSync(fd, trailer, 0, 20, size - 20);
  if (!Buffer.from(hash.digest()).equals(trailer)) throw new PackError("the pack's checksum does not match its content (truncated or corrupted in transit)");
}

/**
 * Write every object of the pack at `packPath` into the loose store of `gitdir`. Delta bases are
 * read back from the store: a non-thin pack (what we ask for) puts every base in the pack.
 */
export async function unpack(packPath: string, gitdir: string): Promise<number> {
  const fd = openSync(packPath, "r");
  try {
    const size = fstatSync(fd).size;
    verifyChecksum(fd, size);
    const cur = new FileCursor(fd, size - 20);
    const head = cur.peek(12);
    if (head.subarray(0, 4).toString("latin1") !== "PACK" || ![2, 3].includes(head.readUInt32BE(4))) throw new PackError("not a Git pack (bad header)");
    const count = head.readUInt32BE(8);
    cur.pos = 12;
    const atOffset = new Map<number, string>();
    const waiting: { delta: Buffer; baseOid: string; offset: number }[] = [];
    for (let n = 0; n < count; n++) {
      const offset = cur.pos;
      const entry = readEntryHeader(cur);
      const type = TYPES[entry.kind];
      if (type) {
        const writer = new ObjectWriter(gitdir, type, entry.size);
        inflateAt(cur, (chunk) => writer.write(chunk));
        atOffset.set(offset, await writer.finish());
      } else {
        const delta = inflateWhole(cur, entry.size);
        const baseOid = entry.baseOid ?? atOffset.get(entry.baseOffset ?? -1);
        if (!baseOid) throw new PackError(`a delta at offset ${offset} refers to no object of the pack`);
        const oid = resolveDelta(gitdir, baseOid, delta);
        if (oid) atOffset.set(offset, oid);
        else waiting.push({ delta, baseOid, offset });
      }
      failpoint("unpack");
      reclaimAfter(entry.size);
    }
    // a ref-delta may name a base stored later in the pack
    while (waiting.length) {
      const before = waiting.length;
      for (const w of waiting.splice(0)) {
        const oid = resolveDelta(gitdir, w.baseOid, w.delta);
        if (!oid) waiting.push(w);
      }
      if (waiting.length === before) throw new PackError(`${before} deltas refer to objects that are neither in the pack nor stored (${waiting[0]?.baseOid})`);
    }
    if (cur.pos !== cur.size) throw new PackError(`${cur.size - cur.pos} unexpected bytes after the last object`);
    return count;
  } finally {
    closeSync(fd);
  }
}

function resolveDelta(gitdir: string, baseOid: string, delta: Buffer): string | undefined {
  let base: ReturnType<typeof readObject>;
  try {
    base = readObject(gitdir, baseOid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return writeObject(gitdir, base.type, applyDelta(base.content, delta));
}
