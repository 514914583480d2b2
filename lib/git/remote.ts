// The head of the configured branch or tag, from one GET of info/refs (the smart-HTTP ref
// advertisement, a few pkt-lines). Every timer tick asks this, so it loads nothing of the fetch.
import { UnreachableError } from "../base/errors.ts";
import { redact } from "../base/redact.ts";
import { requestWithRetries, type RetryPolicy, TransientHttpError } from "./http.ts";
import type { SshRemote } from "./url.ts";

export interface GitSource {
  url: string;
  /** branch or tag */
  ref: string;
  /** repository.tag: `ref` is chosen among the tags this pattern selects (tags.ts), per run */
  tagPattern?: string;
  token?: string;
  /** HTTP Basic user sent with the token: x-access-token (GitHub), oauth2 (GitLab), yours (Bitbucket) */
  username?: string;
  retry: RetryPolicy;
  /** an SSH remote (repository.url ssh://... or user@host:path): the deploy key and the pinned host keys */
  ssh?: { remote: SshRemote; keyFile: string; knownHostsFile: string };
}

export interface RemoteHead {
  sha: string;
  kind: "branch" | "tag";
  /** what the ref names: the commit, or an annotated tag's object */
  oid: string;
  /** the branch or tag */
  name: string;
}

export function gitHeaders(src: GitSource): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "konta" };
  // Sent up front: a 401-then-retry dance would double the requests of every idle tick.
  if (src.token) h.Authorization = `Basic ${Buffer.from(`${src.username ?? "x-access-token"}:${src.token}`).toString("base64")}`;
  return h;
}

export function unreachable(src: GitSource, action: string, detail: string): UnreachableError {
  return new UnreachableError(`cannot ${action} ${redact(src.url)}: ${redact(detail)}`, {
    hint: "the Git server is unreachable or failing; nothing was changed, the next run tries again",
  });
}

export function httpStatusError(src: GitSource, action: string, status: number, statusMessage: string): UnreachableError {
  const url = redact(src.url);
  if (status === 401 || status === 403 || status === 404) {
    return new UnreachableError(`authentication failed for ${url} (HTTP ${status}) — check the token and its \`repo\` scope`, {
      hint:
        status === 404
          ? "GitHub answers 404 for a private repository without a valid token; also check the URL"
          : "set the token with `konta token set`, repository.token_file or KONTA_TOKEN",
    });
  }
  return new UnreachableError(`cannot ${action} ${url}: HTTP ${status} ${statusMessage}`);
}

export function notSmartHttp(src: GitSource, action: string): UnreachableError {
  return new UnreachableError(`cannot ${action} ${redact(src.url)}: the server's answer is not Git smart HTTP`, {
    hint: "check repository.url (it must be the HTTPS clone URL, ending in .git)",
  });
}

export interface Advertisement {
  /** ref name -> object id; annotated tags also as `<tag>^{}` -> the commit */
  refs: Map<string, string>;
  capabilities: Set<string>;
}

/** pkt-lines: 4 hex digits of length (including themselves), "0000" a flush. */
export function parseAdvertisement(data: Uint8Array): Advertisement | undefined {
  const text = new TextDecoder().decode(data);
  const refs = new Map<string, string>();
  const capabilities = new Set<string>();
  let sawService = false;
  for (let i = 0; i < text.length; ) {
    const len = Number.parseInt(text.slice(i, i + 4), 16);
    if (!/^[0-9a-f]{4}$/i.test(text.slice(i, i + 4)) || (len !== 0 && len < 4)) return undefined;
    if (len === 0) {
      i += 4;
      continue;
    }
    const line = text.slice(i + 4, i + len).replace(/\n$/, "");
    i += len;
    if (line.startsWith("# service=")) {
      sawService = true;
      continue;
    }
    if (!addAdvertised(line, { refs, capabilities })) return undefined;
  }
  return sawService ? { refs, capabilities } : undefined;
}

/** One line of a ref advertisement (`<oid> <ref>[\0<capabilities>]`) into `adv`; false when it is none. */
export function addAdvertised(line: string, adv: Advertisement): boolean {
  const m = /^([0-9a-f]{40}) ([^\0]+)(?:\0(.*))?$/.exec(line);
  if (!m) return false;
  adv.refs.set(m[2] as string, m[1] as string);
  for (const cap of m[3]?.split(" ") ?? []) if (cap) adv.capabilities.add(cap);
  return true;
}

/** One GET of info/refs: every ref the server advertises, and what its upload-pack can do. */
export async function advertisement(src: GitSource): Promise<Advertisement> {
  const url = `${src.url.replace(/\/+$/, "")}/info/refs?service=git-upload-pack`;
  const answer = await requestWithRetries(src.retry, { url, headers: gitHeaders(src) }, async (res) => {
    if (res.status !== 200) throw httpStatusError(src, "reach", res.status, res.statusText);
    const chunks: Uint8Array[] = [];
    for await (const c of res.body) chunks.push(c);
    return res.contentType.includes("git-upload-pack-advertisement") ? parseAdvertisement(Buffer.concat(chunks)) : undefined;
  }).catch((err) => {
    throw err instanceof TransientHttpError ? unreachable(src, "reach", err.message) : err;
  });
  if (!answer) throw notSmartHttp(src, "reach");
  return answer;
}

/** The tip the configured branch or tag points at: `oid` as advertised, `sha` the commit (a tag peeled). */
export function resolveRef(src: GitSource, adv: Advertisement): RemoteHead {
  const { refs } = adv;
  const branch = refs.get(`refs/heads/${src.ref}`);
  if (branch) return { sha: branch, oid: branch, kind: "branch", name: src.ref };
  const tag = refs.get(`refs/tags/${src.ref}`);
  if (tag) return { sha: refs.get(`refs/tags/${src.ref}^{}`) ?? tag, oid: tag, kind: "tag", name: src.ref };
  const known = [...refs.keys()].filter((r) => r.startsWith("refs/heads/")).slice(0, 10).map((r) => r.slice(11)).join(", ") || "none";
  throw new UnreachableError(`${redact(src.url)} has no branch or tag "${src.ref}" (branches: ${known})`, {
    hint: "check repository.branch in the config",
  });
}
