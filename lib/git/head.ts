// The head of the configured branch or tag: what every tick asks, in one round-trip. Over HTTP one
// GET of info/refs (remote.ts); over SSH one session that reads the ref advertisement and
// disconnects (ssh.ts, loaded only then). Light on purpose: an idle tick loads nothing else of Git.
import { advertisement, type Advertisement, type GitSource, type RemoteHead, resolveRef } from "./remote.ts";

export async function remoteHead(src: GitSource): Promise<RemoteHead> {
  let adv: Advertisement;
  if (src.ssh) {
    const { SshSession } = await import("./ssh.ts");
    const session = await SshSession.open(src);
    adv = session.advertisement;
    await session.close();
  } else adv = await advertisement(src);
  const { sha, kind } = resolveRef(src, adv);
  return { sha, kind };
}
