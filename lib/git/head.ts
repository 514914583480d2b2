// The head of the configured branch or tag: what every tick asks, in one round-trip. Over HTTP one
// GET of info/refs (remote.ts); over SSH one session that reads the ref advertisement and
// disconnects (ssh.ts, loaded only then). Light on purpose: an idle tick loads nothing else of Git.
import { UnreachableError } from "../base/errors.ts";
import { redact } from "../base/redact.ts";
import { advertisement, type Advertisement, type GitSource, type RemoteHead, resolveRef } from "./remote.ts";

/** The tip of the configured branch, or of the newest tag repository.tag selects (its name in `name`: fetch that). */
export async function remoteHead(src: GitSource): Promise<RemoteHead> {
  let adv: Advertisement;
  if (src.ssh) {
    const { SshSession } = await import("./ssh.ts");
    const session = await SshSession.open(src);
    adv = session.advertisement;
    await session.close();
  } else adv = await advertisement(src);
  if (!src.tagPattern) return resolveRef(src, adv);
  // the advertisement lists every tag: the selection costs no request
  const names = [...adv.refs.keys()].filter((r) => r.startsWith("refs/tags/") && !r.endsWith("^{}")).map((r) => r.slice("refs/tags/".length));
  const name = (await import("./tags.ts")).newestTag(names, src.tagPattern);
  if (!name) {
    throw new UnreachableError(`${redact(src.url)} has no tag that repository.tag "${src.tagPattern}" selects (tags: ${names.slice(-10).join(", ") || "none"})`, {
      hint: "push a tag it selects (git tag v1.0.0 && git push --tags), or change repository.tag",
    });
  }
  return resolveRef({ ...src, ref: name }, adv);
}
