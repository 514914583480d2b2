// The Compose loader's only door to the host: every file it reads or checks, every variable of the
// process environment and the home directory. While a project loads, each question and its answer
// is written down (content as a digest, never the content), so that a later load can ask the same
// questions of a new release; when every answer is the same, so is the loaded project (cache.ts).
// A read that bypassed this module would go unnoticed by that cache: tests/unit/compose-cache
// checks that no other loader module touches node:fs or node:os.
import { type Dirent, existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { userHome } from "../base/host.ts";
import { contentDigest, sha256 } from "../base/digest.ts";

type Env = Record<string, string | undefined>;

interface Asked<T> {
  get: (subject: string, env: Env) => T;
  /** the answer as recorded: a digest for contents and variable values */
  show: (value: T) => string;
}

const digestOrUnset = (v: string | undefined): string => (v === undefined ? "unset" : sha256(v));

interface Values {
  exists: boolean;
  read: string;
  isdir: boolean;
  mode: number;
  realpath: string;
  digest: string;
  env: string | undefined;
  home: string;
  list: Dirent[];
  /** a value from a secret manager was used: the load is never kept (its model holds the value) */
  secret: string;
}

const QUESTIONS: { [K in keyof Values]: Asked<Values[K]> } = {
  exists: { get: (p) => existsSync(p), show: String },
  read: { get: (p) => readFileSync(p, "utf8"), show: sha256 },
  isdir: { get: (p) => statSync(p).isDirectory(), show: String },
  mode: { get: (p) => statSync(p).mode & 0o7777, show: String },
  realpath: { get: (p) => realpathSync(p), show: String },
  digest: { get: (p) => contentDigest(p), show: String },
  env: { get: (name, env) => env[name], show: digestOrUnset },
  home: { get: () => userHome(), show: String },
  secret: { get: () => "", show: () => "used" },
  list: {
    get: (p) => readdirSync(p, { withFileTypes: true }),
    show: (entries) => entries.map((e) => `${e.name}${e.isDirectory() ? "/" : e.isSymbolicLink() ? "@" : ""}`).sort().join("\n"),
  },
};

export type Question = keyof Values;
/** [question, subject (a path or a variable name), answer] */
export type Answer = [Question, string, string];

/** The questions of the load being recorded, each once: "question\0subject" -> its first answer. */
let recorded: Map<string, Answer> | undefined;

function record(q: Question, subject: string, a: string): void {
  const key = `${q}\0${subject}`;
  if (!recorded?.has(key)) recorded?.set(key, [q, subject, a]);
}

function failure(err: unknown): string {
  return `!${(err as NodeJS.ErrnoException).code ?? "error"}`;
}

function ask<K extends Question>(q: K, subject: string, env: Env = {}): Values[K] {
  const { get, show }: Asked<Values[K]> = QUESTIONS[q];
  if (!recorded) return get(subject, env);
  try {
    const value = get(subject, env);
    record(q, subject, show(value));
    return value;
  } catch (err) {
    record(q, subject, failure(err));
    throw err;
  }
}

export const exists = (p: string) => ask("exists", p);
export const readText = (p: string) => ask("read", p);
export const isDirectory = (p: string) => ask("isdir", p);
export const fileMode = (p: string) => ask("mode", p);
export const realpath = (p: string) => ask("realpath", p);
/** Content digest of a bind source in the release. */
export const bindDigest = (p: string) => ask("digest", p);
export const homeDir = () => ask("home", "");
export const listDir = (p: string) => ask("list", p);
export const envVar = (env: Env, name: string) => ask("env", name, env);
/** The load uses a secret manager's value for `ref` (cache.ts keeps no such load). */
export const usesSecret = (ref: string) => ask("secret", ref);

/** Run `load`, writing down every question it asks (once each, in order). Loads do not nest. */
export function recording<T>(load: () => T): { value: T; answers: Answer[] } {
  const answers = new Map<string, Answer>();
  recorded = answers;
  try {
    const value = load();
    return { value, answers: [...answers.values()] };
  } finally {
    recorded = undefined;
  }
}

/** Ask a recorded question again, now. */
export function answer<K extends Question>(q: K, subject: string, env: Env): string {
  const { get, show }: Asked<Values[K]> = QUESTIONS[q];
  try {
    return show(get(subject, env));
  } catch (err) {
    return failure(err);
  }
}
