// The local Git cache as loose objects (objects/xx/yyyy, zlib of "<type> <size>\0<content>"), one
// file each: checking out a release touches only the objects it needs, where a pack would be read
// into memory whole. Unpacking writes here (and reads a delta's base); a checkout reads through
// isomorphic-git (read.ts); `shallow` lists the commits whose fetch completed, and only those count
// as present.
import { createReadStream, createWriteStream, existsSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ensureDir, writeFileAtomic } from "../base/fsutil.ts";

export type ObjectType = "commit" | "tree" | "blob" | "tag";

export interface GitObject {
  type: ObjectType;
  content: Buffer;
}

/** Objects up to this size are hashed and compressed in memory; larger ones go through a file. */
const IN_MEMORY_MAX = 4 * 1024 * 1024;

export function objectPath(gitdir: string, oid: string): string {
  return join(gitdir, "objects", oid.slice(0, 2), oid.slice(2));
}

/** Where unpacking keeps what is not finished yet; emptied before and after every fetch. */
export function incomingDir(gitdir: string): string {
  return join(gitdir, "incoming");
}

export function hasObject(gitdir: string, oid: string): boolean {
  return existsSync(objectPath(gitdir, oid));
}

// zlib's format (RFC 1950) with Bun's own deflate and inflate: node:zlib costs a bare compiled
// program ~7 MB, a deploy ~0.5-1 MB of it (bench/NOTES.md); Bun.deflateSync writes raw DEFLATE,
// so the header and Adler-32 are added here, and Bun.inflateSync checks both. Objects past
// IN_MEMORY_MAX still stream through node:zlib.
function zlibDeflate(data: Uint8Array<ArrayBuffer>): Uint8Array {
  const raw = Bun.deflateSync(data, { level: 1, windowBits: -15 });
  const out = new Uint8Array(raw.length + 6);
  out[0] = 0x78; // deflate, 32 KB window
  out[1] = 0x01; // fastest, no dictionary; (0x78 << 8 | 0x01) % 31 === 0
  out.set(raw, 2);
  new DataView(out.buffer).setUint32(raw.length + 2, adler32(data));
  return out;
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    // 5552: the most bytes before b can pass 2^32 (zlib's NMAX)
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function zlibInflate(data: Uint8Array<ArrayBuffer>): Buffer {
  const out = Bun.inflateSync(data, { windowBits: 15 });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function readObject(gitdir: string, oid: string): GitObject {
  const raw = zlibInflate(readFileSync(objectPath(gitdir, oid)));
  const nul = raw.indexOf(0);
  const [type, size] = raw.subarray(0, nul).toString("latin1").split(" ");
  const content = raw.subarray(nul + 1);
  if (Number(size) !== content.length) throw new Error(`object ${oid} is corrupt (size ${size}, found ${content.length} bytes)`);
  return { type: type as ObjectType, content };
}

/** An annotated tag's id -> the commit it points at (anything else is returned as it is). */
export function peel(gitdir: string, oid: string): string {
  let current = oid;
  for (let depth = 0; depth < 5; depth++) {
    const obj = readObject(gitdir, current);
    if (obj.type !== "tag") return current;
    current = /^object ([0-9a-f]{40})$/m.exec(obj.content.toString("latin1"))?.[1] ?? current;
  }
  return current;
}

/** The commits fetched completely, oldest first. */
export function completeCommits(gitdir: string): string[] {
  const file = join(gitdir, "shallow");
  return existsSync(file) ? readFileSync(file, "latin1").split("\n").filter((l) => /^[0-9a-f]{40}$/.test(l)) : [];
}

export function markComplete(gitdir: string, commits: string[]): void {
  const all = [...new Set([...completeCommits(gitdir), ...commits])];
  writeFileAtomic(join(gitdir, "shallow"), `${all.join("\n")}\n`, 0o600);
}

function header(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, "latin1");
}

function place(gitdir: string, tmp: string, oid: string): void {
  ensureDir(join(gitdir, "objects", oid.slice(0, 2)), 0o755);
  renameSync(tmp, objectPath(gitdir, oid));
}

let tmpSeq = 0;
function tmpPath(gitdir: string): string {
  return join(incomingDir(gitdir), `obj-${process.pid}-${tmpSeq++}`);
}

/** Store a whole object; returns its id. */
export function writeObject(gitdir: string, type: ObjectType, content: Uint8Array): string {
  const head = header(type, content.length);
  const oid = new Bun.CryptoHasher("sha1").update(head).update(content).digest("hex");
  if (hasObject(gitdir, oid)) return oid;
  const tmp = tmpPath(gitdir);
  const fd = openSync(tmp, "w", 0o444);
  try {
    writeSync(fd, zlibDeflate(Buffer.concat([head, content])));
  } finally {
    closeSync(fd);
  }
  place(gitdir, tmp, oid);
  return oid;
}

/**
 * An object written as it is inflated, chunk by chunk: held in memory when small, spooled to a
 * file when large, so a big file in the repository never sits in memory whole.
 */
export class ObjectWriter {
  private chunks: Uint8Array[] = [];
  private spool?: { path: string; fd: number; hash: Bun.CryptoHasher };
  private written = 0;

  constructor(
    private readonly gitdir: string,
    private readonly type: ObjectType,
    private readonly size: number,
  ) {
    if (size > IN_MEMORY_MAX) {
      const path = tmpPath(gitdir);
      const head = header(type, size);
      this.spool = { path, fd: openSync(path, "w", 0o600), hash: new Bun.CryptoHasher("sha1").update(head) };
      writeSync(this.spool.fd, head);
    }
  }

  write(chunk: Uint8Array): void {
    this.written += chunk.length;
    if (!this.spool) return void this.chunks.push(chunk);
    this.spool.hash.update(chunk);
    writeSync(this.spool.fd, chunk);
  }

  async finish(): Promise<string> {
    if (this.written !== this.size) throw new Error(`a ${this.type} of ${this.size} bytes inflated to ${this.written}`);
    if (!this.spool) return writeObject(this.gitdir, this.type, Buffer.concat(this.chunks));
    const oid = this.spool.hash.digest("hex");
    closeSync(this.spool.fd);
    try {
      if (hasObject(this.gitdir, oid)) return oid;
      const tmp = tmpPath(this.gitdir);
      const [{ pipeline }, { createDeflate }] = await Promise.all([import("node:stream/promises"), import("node:zlib")]);
      await pipeline(createReadStream(this.spool.path), createDeflate({ level: 1 }), createWriteStream(tmp, { mode: 0o444 }));
      place(this.gitdir, tmp, oid);
      return oid;
    } finally {
      rmSync(this.spool.path, { force: true });
    }
  }
}
