// Ask a smart-HTTP server for one commit at depth 1 (protocol v0, stateless RPC, as `git fetch
// --depth 1` does) and write the pack to a file as it arrives: memory holds one network chunk,
// whatever the size of the repository. Telling the server which commits we already have (and that
// they are shallow) keeps a later fetch to the objects that changed.
import { closeSync, openSync, writeSync } from "node:fs";
import { UnreachableError } from "../base/errors.ts";
import { failpoint } from "../base/failpoint.ts";
import { reclaimAfter } from "../base/heap.ts";
import { redact } from "../base/redact.ts";
import { requestWithRetries } from "./http.ts";
import { type Advertisement, type GitSource, gitHeaders, httpStatusError, notSmartHttp } from "./remote.ts";

export interface PackWant {
  want: string;
  /** commits stored completely, offered as common ground */
  haves: string[];
  /** our shallow boundary: every commit we hold, without its parents */
  shallow: string[];
}

export interface ShallowUpdate {
  shallow: string[];
  unshallow: string[];
}

export function pktLine(line: string): string {
  return (Buffer.byteLength(line) + 4).toString(16).padStart(4, "0") + line;
}

/** The capabilities we ask for, of those the server offers. */
function requested(offered: Set<string>): string[] {
  const band = ["side-band-64k", "side-band"].find((c) => offered.has(c));
  return [band, "ofs-delta", "shallow", "no-progress"].filter((c): c is string => !!c && offered.has(c)).concat("agent=konta");
}

export function uploadPackRequest(req: PackWant, offered: Set<string>): string {
  const lines = [pktLine(`want ${req.want} ${requested(offered).join(" ")}\n`)];
  if (offered.has("shallow")) {
    for (const s of req.shallow) lines.push(pktLine(`shallow ${s}\n`));
    lines.push(pktLine("deepen 1\n"));
  }
  lines.push("0000");
  for (const h of req.haves) lines.push(pktLine(`have ${h}\n`));
  lines.push(pktLine("done\n"));
  return lines.join("");
}

/** pkt-lines from a byte stream; `undefined` for a flush, `null` at the end. */
export class PktReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.it = body[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const step = await this.it.next();
      if (step.done) return false;
      this.buf = this.buf.length ? Buffer.concat([this.buf, step.value]) : Buffer.from(step.value.buffer, step.value.byteOffset, step.value.byteLength);
    }
    return true;
  }

  async next(): Promise<Buffer | undefined | null> {
    if (!(await this.fill(4))) {
      if (this.buf.length) throw new PackProtocolError("the answer ends in the middle of a line");
      return null;
    }
    const hex = this.buf.subarray(0, 4).toString("latin1");
    const len = Number.parseInt(hex, 16);
    if (!/^[0-9a-f]{4}$/i.test(hex) || (len > 0 && len < 4)) throw new PackProtocolError("the answer is not made of pkt-lines");
    if (len === 0) {
      this.buf = this.buf.subarray(4);
      return undefined;
    }
    if (!(await this.fill(len))) throw new PackProtocolError("the answer ends in the middle of a line");
    const payload = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return payload;
  }

}

export class PackProtocolError extends Error {}

/** POST git-upload-pack and write the pack it answers into `packPath`. */
export async function fetchPack(src: GitSource, adv: Advertisement, req: PackWant, packPath: string): Promise<ShallowUpdate> {
  const url = `${src.url.replace(/\/+$/, "")}/git-upload-pack`;
  const headers = {
    ...gitHeaders(src),
    "content-type": "application/x-git-upload-pack-request",
    accept: "application/x-git-upload-pack-result",
  };
  // side-band tells the pack from progress and errors; every smart server of the last 15 years has it
  if (!adv.capabilities.has("side-band-64k") && !adv.capabilities.has("side-band")) {
    throw new UnreachableError(`cannot fetch from ${redact(src.url)}: the server offers no side-band (a Git server older than 1.6)`);
  }
  const body = new TextEncoder().encode(uploadPackRequest(req, adv.capabilities));
  return requestWithRetries(src.retry, { url, method: "POST", headers, body }, async (res) => {
    if (res.status !== 200) throw httpStatusError(src, "fetch from", res.status, res.statusText);
    if (!res.contentType.includes("git-upload-pack-result")) throw notSmartHttp(src, "fetch from");
    const fd = openSync(packPath, "w", 0o600);
    try {
      return await readAnswer(new PktReader(res.body), adv.capabilities, fd);
    } catch (err) {
      if (err instanceof PackProtocolError) throw new UnreachableError(`cannot fetch from ${redact(src.url)}: ${redact(err.message)}`);
      throw err;
    } finally {
      closeSync(fd);
    }
  });
}

export async function readAnswer(reader: PktReader, offered: Set<string>, fd: number): Promise<ShallowUpdate> {
  const update: ShallowUpdate = { shallow: [], unshallow: [] };
  // the shallow section (ended by a flush) comes first when we asked for a depth
  let line = await reader.next();
  if (offered.has("shallow")) {
    for (; line; line = await reader.next()) {
      const text = line.toString("latin1").trim();
      if (text.startsWith("ERR ")) throw new PackProtocolError(`the server refused: ${text.slice(4)}`);
      const m = /^(shallow|unshallow) ([0-9a-f]{40})$/.exec(text);
      if (!m) throw new PackProtocolError(`unexpected "${text.slice(0, 60)}" in the shallow section`);
      update[m[1] as "shallow" | "unshallow"].push(m[2] as string);
    }
    if (line === null) throw new PackProtocolError("the answer ends before the pack");
    line = await reader.next();
  }
  // then ACK or NAK for what we offered
  for (; line && /^(ACK |NAK)/.test(line.toString("latin1")); line = await reader.next());
  if (line?.toString("latin1").startsWith("ERR ")) throw new PackProtocolError(`the server refused: ${line.toString("latin1").slice(4).trim()}`);
  for (; line; line = await reader.next()) {
    const band = line[0];
    if (band === 1) writeSync(fd, line.subarray(1));
    else if (band === 3) throw new PackProtocolError(`the server failed: ${line.subarray(1).toString("utf8").trim()}`);
    else if (band !== 2) throw new PackProtocolError(`unexpected side-band ${band}`);
    failpoint("fetch");
    reclaimAfter(line.length);
  }
  if (line === null) throw new PackProtocolError("the answer ends without its final flush");
  return update;
}
