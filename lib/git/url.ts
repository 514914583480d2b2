// What a repository URL names: HTTP(S), or SSH in either spelling Git accepts,
// `ssh://[user@]host[:port]/path` and the scp-like `user@host:path`.

export interface SshRemote {
  user?: string;
  host: string;
  port?: number;
  /** the path as the server's git-upload-pack takes it */
  path: string;
}

/** An SSH remote, or undefined for anything else (HTTP(S) URLs included). */
export function parseSshUrl(url: string): SshRemote | undefined {
  if (url.startsWith("ssh://") || url.startsWith("git+ssh://")) {
    const m = /^(?:git\+)?ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)$/.exec(url);
    if (!m) return undefined;
    const path = m[4] as string;
    // ssh://host/~user/repo names a path under a home directory, as Git reads it
    return { ...(m[1] ? { user: m[1] } : {}), host: (m[2] as string).replace(/^\[|\]$/g, ""), ...(m[3] ? { port: Number(m[3]) } : {}), path: path.startsWith("/~") ? path.slice(1) : path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  // scp-like: no scheme, a ":" before any "/"
  const m = /^(?:([^@/:]+)@)?(\[[^\]]+\]|[^:/]+):(.+)$/.exec(url);
  if (!m) return undefined;
  return { ...(m[1] ? { user: m[1] } : {}), host: (m[2] as string).replace(/^\[|\]$/g, ""), path: m[3] as string };
}

/** `host` or `[host]:port`, as known_hosts and ssh-keyscan name it. */
export function knownHostsName(r: SshRemote): string {
  return r.port && r.port !== 22 ? `[${r.host}]:${r.port}` : r.host;
}
