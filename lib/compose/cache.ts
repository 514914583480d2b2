// Loaded projects kept between runs, so that a deploy does not parse, validate and normalise again
// every project a commit left alone (at 50 apps that was most of Konta's own time before the first
// container changes). An entry holds the questions its load asked of the host and their answers
// (inputs.ts); it is used only when asking them again, of the new release, gives the same answers,
// so a hit is exactly what loading would return. A project whose load read a file outside the
// release or a process variable is never kept: its model would hold the host's secrets.
// This module reads and writes only its own file, never an input of a load.
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../base/fsutil.ts";
import type { LoadOptions, ProjectCacheOptions } from "./options.ts";
import { canonicalJson, sha256 } from "../base/digest.ts";
import { type Answer, answer, type Question, realpath, recording } from "./inputs.ts";

interface Entry {
  /** digest of the load options that are not questions (profiles, policy, ...) */
  options: string;
  answers: Answer[];
  /** the loaded project as JSON, release paths as placeholders */
  project: string;
}

interface CacheDoc {
  build: string;
  entries: Record<string, Entry>;
}

// Release paths differ from one release to the next; entries hold placeholders instead.
const PLACEHOLDERS = ["<konta:release>", "<konta:release-realpath>"];

class ReleasePaths {
  private readonly pairs: [path: string, placeholder: string][];

  constructor(root: string) {
    const real = realpath(root);
    this.pairs = (real === root ? [[root, PLACEHOLDERS[0]]] : [[root, PLACEHOLDERS[0]], [real, PLACEHOLDERS[1]]]) as [string, string][];
    // the longer path first, should one contain the other
    this.pairs.sort((a, b) => b[0].length - a[0].length);
  }

  /** A path (or a realpath answer) with the release replaced by its placeholder. */
  hide(p: string): string {
    for (const [path, placeholder] of this.pairs) if (p === path || p.startsWith(`${path}/`)) return placeholder + p.slice(path.length);
    return p;
  }

  show(p: string): string {
    for (const [path, placeholder] of this.pairs) if (p.startsWith(placeholder)) return path + p.slice(placeholder.length);
    return p;
  }

  /** A recorded answer as stored: a realpath answer names a path, which may be in the release. */
  hideAnswer(q: Question, a: string): string {
    return q === "realpath" ? this.hide(a) : a;
  }

  inside(hidden: string): boolean {
    return PLACEHOLDERS.some((ph) => hidden.startsWith(ph));
  }

  /** The same replacement inside JSON text, where the paths appear JSON-escaped. */
  hideJson(json: string): string {
    return this.pairs.reduce((text, [path, placeholder]) => replacePath(text, jsonEscaped(path), placeholder), json);
  }

  showJson(json: string): string {
    return this.pairs.reduce((text, [path, placeholder]) => text.replaceAll(placeholder, jsonEscaped(path)), json);
  }
}

const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);

/** Replace `path` where it is a whole path or a prefix of one (not followed by a character of a file name). */
function replacePath(text: string, path: string, by: string): string {
  return text.replace(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w.-])`, "g"), by);
}

export class ProjectCache {
  private changed = false;
  private readonly paths: ReleasePaths;
  private readonly options: string;
  private readonly env: Record<string, string | undefined>;

  private constructor(
    private readonly cache: ProjectCacheOptions,
    private readonly doc: CacheDoc,
    opts: LoadOptions,
  ) {
    this.paths = new ReleasePaths(opts.repoRoot);
    this.env = opts.processEnv ?? process.env;
    const { repoRoot: _root, cache: _cache, processEnv: _env, sops: _sops, managed: _managed, ...rest } = opts;
    this.options = sha256(canonicalJson(rest));
  }

  static open(cache: ProjectCacheOptions, opts: LoadOptions): ProjectCache {
    let doc: CacheDoc = { build: cache.build, entries: {} };
    try {
      const read = JSON.parse(readFileSync(cache.file, "utf8")) as Partial<CacheDoc>;
      if (read.build === cache.build && read.entries && typeof read.entries === "object") doc = { build: read.build, entries: read.entries };
    } catch {
      // no cache yet, or an unreadable one: every project loads
    }
    return new ProjectCache(cache, doc, opts);
  }

  /** The cached project when every recorded answer still holds, else `load()` (recorded). */
  load<T>(name: string, load: () => T): T {
    const entry = this.doc.entries[name];
    if (entry && entry.options === this.options && this.holds(entry.answers)) return JSON.parse(this.paths.showJson(entry.project)) as T;
    const { value, answers } = recording(load);
    const hidden = answers.map(([q, subject, a]): Answer => [q, this.paths.hide(subject), this.paths.hideAnswer(q, a)]);
    if (this.keepable(hidden)) {
      this.doc.entries[name] = { options: this.options, answers: hidden, project: this.paths.hideJson(JSON.stringify(value)) };
      this.changed = true;
    } else if (entry) {
      delete this.doc.entries[name];
      this.changed = true;
    }
    return value;
  }

  private holds(answers: Answer[]): boolean {
    for (const [q, subject, recorded] of answers) {
      if (this.paths.hideAnswer(q, answer(q, this.paths.show(subject), this.env)) !== recorded) return false;
    }
    return true;
  }

  private keepable(answers: Answer[]): boolean {
    return answers.every(([q, subject, a]) => {
      if (q === "env") return a === "unset";
      if (q === "secret") return false;
      if (q === "read" || q === "digest" || q === "list") return this.paths.inside(subject);
      return true;
    });
  }

  /** Keep the entries of `names` (the projects of the release just loaded) and write the file if it changed. */
  save(names: string[]): void {
    const keep = new Set(names);
    for (const name of Object.keys(this.doc.entries)) {
      if (!keep.has(name)) {
        delete this.doc.entries[name];
        this.changed = true;
      }
    }
    if (!this.changed || !existsSync(dirname(this.cache.file))) return;
    try {
      writeFileAtomic(this.cache.file, JSON.stringify(this.doc), 0o600);
    } catch {
      // a cache that cannot be written (a read-only `konta plan`) only costs the next run time
    }
  }
}
