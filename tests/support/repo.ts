// Test repositories: a bare repo served by the test Git server, and a work tree to commit into.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { sh } from "./docker.ts";

const GIT_ENV = {
  GIT_AUTHOR_NAME: "Konta Test",
  GIT_AUTHOR_EMAIL: "test@konta.invalid",
  GIT_COMMITTER_NAME: "Konta Test",
  GIT_COMMITTER_EMAIL: "test@konta.invalid",
};

export type FileSpec = string | { content: string; mode?: number } | { symlink: string } | null;

export class TestRepo {
  readonly bare: string;
  readonly work: string;

  constructor(
    readonly root: string,
    readonly name: string,
    readonly branch = "main",
  ) {
    this.bare = join(root, `${name}.git`);
    this.work = mkdtempSync(join(tmpdir(), `konta-work-${name.replaceAll("/", "-")}-`));
    sh("git", ["init", "-q", "--bare", "-b", branch, this.bare]);
    sh("git", ["init", "-q", "-b", branch, this.work]);
  }

  git(...args: string[]): string {
    return sh("git", args, { cwd: this.work, env: GIT_ENV }).trim();
  }

  /** Write (or with null, delete) files relative to the work tree. */
  write(files: Record<string, FileSpec>): this {
    for (const [path, spec] of Object.entries(files)) {
      const full = join(this.work, path);
      if (spec === null) {
        rmSync(full, { recursive: true, force: true });
        continue;
      }
      mkdirSync(dirname(full), { recursive: true });
      rmSync(full, { force: true });
      if (typeof spec === "string") writeFileSync(full, spec);
      else if ("symlink" in spec) symlinkSync(spec.symlink, full);
      else {
        writeFileSync(full, spec.content);
        if (spec.mode !== undefined) chmodSync(full, spec.mode);
      }
    }
    return this;
  }

  /** A file whose name is raw bytes (e.g. not UTF-8); its folders must exist or be plain ASCII. */
  writeRaw(rel: Buffer, content: string): this {
    const slash = rel.lastIndexOf("/");
    if (slash > 0) mkdirSync(join(this.work, rel.subarray(0, slash).toString("latin1")), { recursive: true });
    writeFileSync(Buffer.concat([Buffer.from(`${this.work}/`), rel]), content);
    return this;
  }

  /** Commit everything (signed with an SSH key when given) and push to the bare repository; returns the new SHA. */
  commit(message = "change", opts: { force?: boolean; allowEmpty?: boolean; sshKey?: string } = {}): string {
    this.git("add", "-A");
    const sign = opts.sshKey ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${opts.sshKey}`] : [];
    this.git(...sign, "commit", "-q", ...(opts.sshKey ? ["-S"] : []), "-m", message, ...(opts.allowEmpty ? ["--allow-empty"] : []));
    this.push(opts.force);
    return this.head();
  }

  push(force = false): void {
    this.git("push", "-q", ...(force ? ["--force"] : []), this.bare, `HEAD:refs/heads/${this.branch}`);
  }

  head(): string {
    return this.git("rev-parse", "HEAD");
  }

  tag(name: string, annotated = true): void {
    this.git("tag", ...(annotated ? ["-a", "-m", name] : []), name);
    this.git("push", "-q", this.bare, `refs/tags/${name}`);
  }

  dispose(): void {
    rmSync(this.work, { recursive: true, force: true });
    rmSync(this.bare, { recursive: true, force: true });
  }
}
