// Where a service's files come from: bind sources (inside the release with a content digest, or
// host paths under the host policy), volume and tmpfs mounts, and file-based secrets and configs
// (a SOPS-encrypted secret from its decrypted copy on the host).
/* eslint-disable @typescript-eslint/no-explicit-any -- raw Compose YAML */
import { isAbsolute, relative } from "node:path";
import { isInside } from "../base/fsutil.ts";
import type { Raw } from "./canonical.ts";
import { openSops, secretFilePath } from "./decrypt.ts";
import { at } from "./errors.ts";
import { nonEmpty } from "./fields.ts";
import { bindDigest, exists, isDirectory, readText } from "./inputs.ts";
import type { BindMount, MountModel, WrittenFile } from "./model.ts";
import { canonicalJson, sha256 } from "../base/digest.ts";
import type { NormalizeContext } from "./options.ts";
import { checkHostPath } from "./policy.ts";
import { parseBytes } from "./units.ts";

export class Mounts {
  private readonly digests = new Map<string, string>();

  constructor(
    private readonly raw: Raw,
    private readonly ctx: NormalizeContext,
    /** a named volume a mount uses (declared in the project's volumes: section) */
    private readonly useVolume: (key: string) => void,
  ) {}

  /** Bind source -> model form: "./x" or "../x" inside the release (with digest), absolute on the host. */
  bindSource(abs: string, inRepoMustExist: boolean): { source: string; digest?: string } {
    if (isInside(this.ctx.repoRoot, abs)) {
      if (!exists(abs)) {
        if (!inRepoMustExist) return { source: this.rel(abs) };
        throw new Error(
          `${this.rel(abs)} does not exist in the repository. A relative bind mount points into the release directory, which is replaced on every commit, so data written there would be lost. Use a named volume (e.g. "data:/path") or an absolute host path (e.g. "/srv/${this.ctx.project}/data:/path") for data`,
        );
      }
      let digest = this.digests.get(abs);
      if (!digest) {
        digest = bindDigest(abs);
        this.digests.set(abs, digest);
      }
      return { source: this.rel(abs), digest };
    }
    this.checkHostPath(abs);
    return { source: abs };
  }

  rel(abs: string): string {
    const r = relative(this.ctx.dir, abs);
    return r === "" ? "." : r.startsWith("..") ? r : `./${r}`;
  }

  checkHostPath(abs: string): void {
    checkHostPath(abs, this.ctx.repoRoot, this.ctx.policy);
  }

  displayPath(abs: string): string {
    return isInside(this.ctx.repoRoot, abs) ? this.rel(abs) : abs;
  }

  mount(v: Raw, i: number): MountModel {
    return at(["volumes", i], (): MountModel => {
      const readOnly = v.read_only ? { read_only: true } : {};
      if (v.type === "bind") {
        const { source, digest } = this.bindSource(v.source, true);
        const bind = nonEmpty(
          Object.fromEntries(Object.entries(v.bind ?? {}).filter(([k, val]) => !(k === "create_host_path" && val === false))),
        );
        const out: BindMount = { type: "bind", source, target: v.target, ...readOnly };
        if (digest) out.digest = digest;
        if (bind) out.bind = bind as BindMount["bind"];
        return out;
      }
      if (v.type === "tmpfs") {
        const tmpfs: { size?: number; mode?: number } = {};
        if (v.tmpfs?.size !== undefined) tmpfs.size = parseBytes(v.tmpfs.size);
        if (v.tmpfs?.mode !== undefined) tmpfs.mode = typeof v.tmpfs.mode === "string" ? Number.parseInt(v.tmpfs.mode, 8) : v.tmpfs.mode;
        return { type: "tmpfs", target: v.target, ...readOnly, ...(nonEmpty(tmpfs) ? { tmpfs } : {}) };
      }
      const out: MountModel = { type: "volume", target: v.target, ...readOnly };
      if (v.source) {
        if (!this.raw.volumes || !(v.source in this.raw.volumes)) {
          throw new Error(`volume "${v.source}" is not declared in the top-level volumes: section`);
        }
        out.source = v.source;
        this.useVolume(v.source);
      }
      const opts = nonEmpty(Object.fromEntries(Object.entries(v.volume ?? {}).filter(([k]) => k !== "labels")));
      if (opts) out.volume = opts as { nocopy?: boolean; subpath?: string };
      return out;
    });
  }

  fileMount(kind: "secrets" | "configs", ref: Raw, i: number): BindMount {
    return at([kind, i], () => {
      const def: Raw | undefined = this.raw[kind]?.[ref.source];
      if (!def) throw new Error(`${kind.slice(0, -1)} "${ref.source}" is not declared in the top-level ${kind}: section`);
      if (def.external) throw new Error(`external ${kind} are a Swarm feature; use file: instead`);
      const defaultDir = kind === "secrets" ? "/run/secrets/" : "/";
      const target: string = ref.target ? (isAbsolute(ref.target) ? ref.target : `${defaultDir}${ref.target}`) : `${defaultDir}${ref.source}`;
      if (def.environment !== undefined || def.content !== undefined) return this.writtenFile(kind, ref, def, target);
      if (!def.file) throw new Error(`${kind.slice(0, -1)} "${ref.source}" needs file:, content: or environment:`);
      if (ref.uid !== undefined || ref.gid !== undefined || ref.mode !== undefined) {
        this.ctx.warn(`${kind}.${ref.source}: uid, gid and mode are not applied to file-based ${kind} (Docker Compose ignores them too)`);
      }
      const { source, digest } = this.bindSource(def.file, true);
      const out: BindMount = { type: "bind", source, target, read_only: true };
      if (digest) out.digest = digest;
      if (kind === "secrets" && digest && !isDirectory(def.file)) this.decryptedSecret(out, def.file, ref.source, digest);
      return out;
    });
  }

  /**
   * A secret or config whose text is in the Compose file (`content:`) or a variable of the project
   * (`environment:`): the deploy writes it under the state dir (beside decrypted SOPS secrets, never
   * in the release) with the owner and mode Compose gives it, named by a digest of all of that, and
   * mounts it. The model holds the path and digest, never the text.
   */
  private writtenFile(kind: "secrets" | "configs", ref: Raw, def: Raw, target: string): BindMount {
    const what = `${kind.slice(0, -1)} "${ref.source}"`;
    const from = def.content !== undefined ? "content" : "environment";
    const text = from === "content" ? String(def.content) : (this.ctx.env(String(def.environment)) ?? this.ctx.standIn?.(String(def.environment)));
    if (text === undefined) {
      throw Object.assign(new Error(`${what}: the variable ${def.environment} is not set (define it in the project's .env, in the host file <config dir>/env/${this.ctx.project}.env, or allow it with deploy.env_passthrough)`), {
        unknown: `variable ${def.environment}`,
      });
    }
    if (!this.ctx.sops) throw new Error(`${what} from ${from}: needs Konta's state dir to write it to`);
    const mode = ref.mode === undefined ? 0o444 : typeof ref.mode === "string" ? Number.parseInt(ref.mode, 8) : Number(ref.mode);
    const id = (v: unknown) => (v === undefined ? 0 : Number(v));
    const written: WrittenFile = { name: ref.source, from, uid: id(ref.uid), gid: id(ref.gid), mode };
    if (![written.uid, written.gid, mode].every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`${what}: uid, gid and mode must be numbers`);
    const digest = `sha256:${sha256(canonicalJson({ kind, project: this.ctx.project, text, written }))}`;
    const source = secretFilePath(this.ctx.sops, this.ctx.project, `${kind.slice(0, -1)}-${ref.source}`, digest);
    this.ctx.sops.files.set(source, text);
    return { type: "bind", source, target, read_only: true, digest, written };
  }

  /**
   * A SOPS-encrypted secret file of the repository is mounted from its decrypted copy on the host
   * (`<state>/secrets`, written by the deploy), never from the release.
   */
  private decryptedSecret(out: BindMount, file: string, name: string, digest: string): void {
    const opened = openSops(this.ctx.sops, file, readText(file), `secret file ${this.displayPath(file)}`);
    if (!opened || !this.ctx.sops) return;
    out.source = secretFilePath(this.ctx.sops, this.ctx.project, name, digest);
    out.decrypted_from = this.rel(file);
    this.ctx.sops.files.set(out.source, opened.text);
  }
}
