// OpenBao and HashiCorp Vault, KV version 2, over their HTTP API: `GET /v1/<mount>/data/<path>`
// with `X-Vault-Token` (answer: {"data": {"data": {field: value}}}), the token from the config
// (plain, enc:v1:, or a 0600 file) or from an AppRole login (`POST /v1/auth/<mount>/login` with
// role_id and secret_id: {"auth": {"client_token": ...}}). A reference is "<mount>/<path>#<field>".
import { readFileSync, statSync } from "node:fs";
import { errorMessage, InputError, UnreachableError } from "../base/errors.ts";
import { registerSecret } from "../base/redact.ts";
import type { ProviderConfig } from "../config/types.ts";
import { decryptToken, isEncrypted } from "../config/token.ts";
import { referenceOf } from "../compose/extension.ts";

interface Answer {
  status: number;
  body: { errors?: string[]; data?: { data?: Record<string, unknown> }; auth?: { client_token?: string } };
}

class Bao {
  constructor(
    readonly name: string,
    readonly p: ProviderConfig,
  ) {}

  unreachable(what: string, why: string): UnreachableError {
    return new UnreachableError(`secrets: ${this.name} (${this.p.url}) ${what}: ${why}`, { hint: "nothing was changed and the commit is not blamed: the next run tries again" });
  }

  async request(method: "GET" | "POST", path: string, token: string | undefined, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(`${(this.p.url as string).replace(/\/+$/, "")}/v1/${path}`, {
        method,
        headers: { ...(token ? { "X-Vault-Token": token } : {}), ...(this.p.namespace ? { "X-Vault-Namespace": this.p.namespace } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.p.timeout * 1000),
        ...(this.p.ca_file ? { tls: { ca: readFileSync(this.p.ca_file, "utf8") } } : {}),
      } as RequestInit);
    } catch (err) {
      throw this.unreachable("cannot be reached", (err as Error).name === "TimeoutError" ? `no answer within ${this.p.timeout} s` : errorMessage(err));
    }
    const text = await res.text();
    let parsed: Answer["body"] = {};
    try {
      parsed = text ? (JSON.parse(text) as Answer["body"]) : {};
    } catch {
      // an answer that is not JSON: its status says enough
    }
    return { status: res.status, body: parsed };
  }

  /** The token to read with: the configured one, or an AppRole login's. */
  async token(keyFile: string): Promise<string> {
    const p = this.p;
    if (p.token) return stored(p.token, keyFile);
    if (p.token_file) return rootOnlyFile(p.token_file, `secrets.providers.${this.name}.token_file`);
    const role = p.approle as NonNullable<ProviderConfig["approle"]>;
    const secretId = role.secret_id ? await stored(role.secret_id, keyFile) : rootOnlyFile(role.secret_id_file as string, `secrets.providers.${this.name}.approle.secret_id_file`);
    const a = await this.request("POST", `auth/${role.mount ?? "approle"}/login`, undefined, { role_id: role.role_id, secret_id: secretId });
    const token = a.body.auth?.client_token;
    if (a.status !== 200 || !token) throw this.unreachable("refused the AppRole login", `${a.status} ${(a.body.errors ?? []).join("; ")}`.trim());
    registerSecret(token);
    return token;
  }
}

async function stored(value: string, keyFile: string): Promise<string> {
  registerSecret(value);
  const plain = isEncrypted(value) ? await decryptToken(value, keyFile) : value;
  registerSecret(plain);
  return plain;
}

function rootOnlyFile(file: string, what: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    throw new InputError(`${what}: ${file} does not exist`);
  }
  if (mode & 0o077) throw new InputError(`${what}: ${file} is readable by group or others (mode ${mode.toString(8)})`, { hint: `run: chmod 600 ${file}` });
  const v = readFileSync(file, "utf8").trim();
  registerSecret(v);
  return v;
}

/** Split "<mount>/<path>#<field>". */
function parse(ref: string): { mount: string; path: string; field: string } {
  const m = /^([^/#]+)\/([^#]+)#(.+)$/.exec(referenceOf(ref));
  if (!m) throw new InputError(`x-konta.secrets: ${ref}: an OpenBao/Vault reference is "<provider>:<mount>/<path>#<field>" (e.g. bao:kv/shop#db_password)`);
  return { mount: m[1] as string, path: m[2] as string, field: m[3] as string };
}

/** The values of `refs`, one read per secret (mount and path). */
export async function baoFetch(name: string, p: ProviderConfig, refs: string[], keyFile: string): Promise<Map<string, string>> {
  const bao = new Bao(name, p);
  const parsed = refs.map((ref) => ({ ref, ...parse(ref) }));
  const token = await bao.token(keyFile);
  const out = new Map<string, string>();
  const secrets = new Map<string, (typeof parsed)[number][]>();
  for (const x of parsed) secrets.set(`${x.mount}/data/${x.path}`, [...(secrets.get(`${x.mount}/data/${x.path}`) ?? []), x]);
  await Promise.all(
    [...secrets].map(async ([path, wanted]) => {
      const a = await bao.request("GET", path, token);
      const where = `${(wanted[0] as (typeof parsed)[number]).mount}/${(wanted[0] as (typeof parsed)[number]).path}`;
      const errors = (a.body.errors ?? []).join("; ");
      if (a.status === 404) {
        throw new InputError(`x-konta.secrets: ${wanted.map((w) => w.ref).join(", ")}: ${name} has no secret at ${where} (404)`, { hint: `create it in ${name}, or correct the reference; then push again or run \`konta sync --now\`` });
      }
      if (a.status === 403) throw bao.unreachable(`refused to read ${where}`, `403 ${errors || "permission denied"} (the server's token or AppRole needs a policy that reads it)`);
      if (a.status === 503 && /sealed/i.test(errors)) throw bao.unreachable("is sealed", "unseal it; the next run tries again");
      if (a.status !== 200) throw bao.unreachable(`answered ${a.status} for ${where}`, errors || "no reason given");
      const data = a.body.data?.data ?? {};
      for (const w of wanted) {
        const value = data[w.field];
        if (typeof value !== "string") {
          throw new InputError(`x-konta.secrets: ${w.ref}: the secret at ${where} in ${name} has no text field "${w.field}" (it has: ${Object.keys(data).sort().join(", ") || "none"})`);
        }
        out.set(w.ref, value);
      }
    }),
  );
  return out;
}
