// Parsing and validating config.yaml (yaml + the generated validator): only when the file changed
// since the last run, see loadConfig.
import { basename, dirname, join } from "node:path";
import { InputError } from "../base/errors.ts";
import type { DeployConfig, HooksConfig, KontaConfig, NotifyConfig, ProviderConfig, ReportConfig, RepositoryConfig, SyncConfig } from "./types.ts";
import validateConfig from "../generated/config-validator.js";
import { adoptOriginalConfig } from "./legacy.ts";
import { parseSshUrl } from "../git/url.ts";
import { isLoopbackHost } from "../base/host.ts";
import { assertValid } from "../base/schema.ts";
import { parseYaml } from "../base/yaml.ts";
import { checkTimeZone, parseWindow } from "../base/windows.ts";

type Raw = {
  version?: 1;
  repository: Partial<RepositoryConfig> & { url: string };
  deploy?: Partial<DeployConfig>;
  hooks?: Partial<HooksConfig>;
  notify?: Partial<NotifyConfig> & { url: string };
  webhook?: { secret: string };
  metrics?: { textfile_dir?: string };
  status?: { password?: string; public_url?: string };
  report?: Partial<ReportConfig>;
  secrets?: { age_key_file?: string; providers?: Record<string, Partial<ProviderConfig>>; refresh_interval?: number };
  sync?: RawSync;
};
type RawSync = { windows?: string[]; timezone?: string; repair_outside_windows?: boolean };

export function withDefaults(raw: Raw, file: string): KontaConfig {
  const r = raw.repository;
  const d = raw.deploy ?? {};
  // a named instance's config (instances/NAME.yaml) has keys of its own beside it: NAME.deploy_key, ...
  const own = basename(dirname(file)) === "instances" ? `${basename(file).replace(/\.ya?ml$/, "")}.` : "";
  return {
    file,
    version: 1,
    repository: {
      url: r.url,
      branch: r.branch ?? "main",
      path: r.path ?? ".",
      interval: r.interval ?? 120,
      token: r.token,
      token_file: r.token_file,
      timeout: r.timeout ?? 20,
      retries: r.retries ?? 4,
      username: r.username ?? "x-access-token",
      ssh_key_file: r.ssh_key_file ?? join(dirname(file), `${own}deploy_key`),
      known_hosts_file: r.known_hosts_file ?? join(dirname(file), `${own}known_hosts`),
      ...(r.allow_insecure_http ? { allow_insecure_http: true } : {}),
      ...(r.tag ? { tag: r.tag } : {}),
      ...(r.verify ? { verify: { ...r.verify, mode: r.verify.mode ?? "head" } } : {}),
    },
    deploy: {
      health_timeout: d.health_timeout ?? 120,
      keep_releases: d.keep_releases ?? 5,
      prune_removed_apps: d.prune_removed_apps ?? true,
      min_uptime: d.min_uptime ?? 1,
      parallel: d.parallel ?? 4,
      profiles: d.profiles ?? [],
      env_passthrough: d.env_passthrough ?? [],
      allow_privileged: d.allow_privileged ?? true,
      allowed_bind_roots: d.allowed_bind_roots,
      allowed_capabilities: d.allowed_capabilities ?? [],
      auto_create_external_networks: d.auto_create_external_networks ?? true,
      image_update_interval: d.image_update_interval ?? 3600,
      target: d.target ?? "engine",
    },
    hooks: {
      timeout: raw.hooks?.timeout ?? 300,
      enabled: raw.hooks?.enabled ?? true,
      writable_paths: raw.hooks?.writable_paths ?? [],
      ...(raw.hooks?.files ? { files: raw.hooks.files } : {}),
    },
    sync: syncConfig(raw.sync ?? {}, file),
    notify: raw.notify ? { url: raw.notify.url, format: raw.notify.format ?? "json", timeout: raw.notify.timeout ?? 10 } : undefined,
    ...(raw.webhook ? { webhook: { secret: raw.webhook.secret } } : {}),
    ...(raw.metrics?.textfile_dir ? { metrics: { textfile_dir: raw.metrics.textfile_dir } } : {}),
    ...(raw.status?.password || raw.status?.public_url ? { status: { ...(raw.status.password ? { password: raw.status.password } : {}), ...(raw.status.public_url ? { public_url: raw.status.public_url } : {}) } } : {}),
    ...(raw.report ? { report: reportConfig(raw.report, r.url, file) } : {}),
    secrets: {
      age_key_file: raw.secrets?.age_key_file ?? join(dirname(file), `${own}age.key`),
      providers: providersConfig(raw.secrets?.providers ?? {}, file),
      ...(raw.secrets?.refresh_interval ? { refresh_interval: raw.secrets.refresh_interval } : {}),
    },
    warnings: [],
  };
}

/** The host of a repository URL, HTTPS or SSH. */
export function repositoryHost(url: string): string | undefined {
  const ssh = parseSshUrl(url);
  if (ssh) return ssh.host;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** report: with its provider guessed for github.com and gitlab.com, and each provider's API base by default. */
function reportConfig(raw: Partial<ReportConfig>, repoUrl: string, file: string): ReportConfig {
  const host = repositoryHost(repoUrl);
  const provider = raw.provider ?? (host === "github.com" ? "github" : host === "gitlab.com" ? "gitlab" : undefined);
  if (!provider) {
    throw new InputError(`${file}: report.provider is needed: the repository is on ${host ?? "an unknown host"}, not github.com or gitlab.com`, {
      hint: "set report.provider to github (GitHub Enterprise), gitlab or gitea (Gitea, Forgejo), and report.url to its API",
    });
  }
  const url = raw.url ?? (provider === "github" ? (host === "github.com" ? "https://api.github.com" : `https://${host}/api/v3`) : provider === "gitlab" ? `https://${host}/api/v4` : `https://${host}/api/v1`);
  return { provider, url: url.replace(/\/+$/, ""), ...(raw.token ? { token: raw.token } : {}), timeout: raw.timeout ?? 5 };
}

function checkRepositoryUrl(url: string, file: string, allowHttp: boolean): void {
  // SSH (a deploy key): ssh://[user@]host[:port]/path or user@host:path
  if (parseSshUrl(url)) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`${file}: repository.url "${url}" is not a URL`, {
      hint: "use an HTTPS clone URL such as https://github.com/acme/infra.git, or an SSH one such as git@github.com:acme/infra.git",
    });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new InputError(`${file}: repository.url must be an https://, ssh:// or user@host:path URL, got ${parsed.protocol}`, {
      hint: "use the HTTPS clone URL and a token, or the SSH one and a deploy key",
    });
  }
  if (parsed.protocol === "http:" && !allowHttp && !isLoopbackHost(parsed.hostname)) {
    throw new InputError(`${file}: repository.url is http:// to ${parsed.hostname}: the token would cross the network in clear text`, {
      hint: "use the https:// URL; only if the network to that host is trusted, set repository.allow_insecure_http: true",
    });
  }
  if (parsed.username || parsed.password) {
    throw new InputError(`${file}: repository.url must not carry credentials`, {
      hint: "remove them from the URL and store the token with `konta token set` (or KONTA_TOKEN / repository.token_file)",
    });
  }
}

/**
 * repository.path names the folder holding apps/ and hooks/. The original Konta documents it as
 * the apps folder itself (`path: vps0/apps`, hooks in vps0/hooks): a path ending in apps means that.
 */
function appsParent(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  if (parts.at(-1) !== "apps") return path;
  return parts.slice(0, -1).join("/") || ".";
}

function checkTagAndVerify(raw: Raw, config: KontaConfig, file: string): void {
  const r = config.repository;
  if (r.tag && raw.repository.branch !== undefined) {
    throw new InputError(`${file}: repository.branch and repository.tag exclude each other: a server follows a branch or the newest of its tags`, { hint: "keep one of them" });
  }
  const v = r.verify;
  if (v && !v.ssh_allowed_signers && !v.gpg_keyring) {
    throw new InputError(`${file}: repository.verify needs ssh_allowed_signers or gpg_keyring: the keys the server trusts`);
  }
  if (v?.mode === "tag" && !r.tag) {
    throw new InputError(`${file}: repository.verify.mode: tag checks the signature of the tag that names a release, and needs repository.tag`, { hint: "set repository.tag, or verify the commits (mode: head)" });
  }
}

function syncConfig(raw: RawSync, file: string): SyncConfig {
  try {
    if (raw.timezone !== undefined) checkTimeZone(raw.timezone);
    const windows = raw.windows ?? [];
    windows.forEach(parseWindow);
    return { windows, ...(raw.timezone ? { timezone: raw.timezone } : {}), repair_outside_windows: raw.repair_outside_windows ?? false };
  } catch (err) {
    throw new InputError(`${file}: sync: ${(err as Error).message}`);
  }
}

/** Each provider is either an OpenBao/Vault server (type, url, one credential) or a command. */
function providersConfig(raw: Record<string, Partial<ProviderConfig>>, file: string): Record<string, ProviderConfig> {
  const out: Record<string, ProviderConfig> = {};
  for (const [name, p] of Object.entries(raw)) {
    const at = `${file}: secrets.providers.${name}`;
    if (p.command && (p.type || p.url)) throw new InputError(`${at}: give either command (a program that prints the value) or type and url (an OpenBao/Vault server), not both`);
    if (!p.command) {
      if (!p.type || !p.url) throw new InputError(`${at}: needs type (bao or vault) and url, or a command`);
      const creds = [p.token, p.token_file, p.approle].filter((x) => x !== undefined).length;
      if (creds !== 1) throw new InputError(`${at}: needs exactly one of token, token_file and approle`, { hint: `store a token with: konta token set --provider ${name}` });
      if (p.approle && !p.approle.secret_id === !p.approle.secret_id_file) throw new InputError(`${at}.approle: needs exactly one of secret_id and secret_id_file`);
    }
    if (p.json_field && !p.command) throw new InputError(`${at}: json_field is for a command's output`);
    out[name] = { ...p, timeout: p.timeout ?? 10 } as ProviderConfig;
  }
  return out;
}

function checkRepoPath(path: string, file: string): void {
  if (path.startsWith("/") || path.split("/").includes("..")) {
    throw new InputError(`${file}: repository.path "${path}" must be a folder inside the repository (relative, without "..")`);
  }
}

export function parseConfig(text: string, file: string): KontaConfig {
  const yaml = parseYaml(text, file);
  if (yaml.value === null || yaml.value === undefined) {
    throw new InputError(`${file} is empty`, { hint: "see `konta install --print` or the README for an example" });
  }
  const { raw, warnings } = adoptOriginalConfig(yaml.value);
  assertValid(validateConfig, raw, { file, yaml }, "configuration");
  const config = withDefaults(raw as Raw, file);
  checkRepositoryUrl(config.repository.url, file, config.repository.allow_insecure_http === true);
  checkRepoPath(config.repository.path, file);
  checkTagAndVerify(raw as Raw, config, file);
  config.repository.path = appsParent(config.repository.path);

  if (config.repository.token !== undefined && !config.repository.token.startsWith("enc:v1:")) {
    warnings.push(`${file}: repository.token is stored in plain text; run \`konta token set\` (token on stdin) to store it encrypted`);
  }
  for (const [name, p] of Object.entries(config.secrets.providers)) {
    for (const [key, v] of [["token", p.token], ["approle.secret_id", p.approle?.secret_id]] as const) {
      if (v !== undefined && !v.startsWith("enc:v1:")) warnings.push(`${file}: secrets.providers.${name}.${key} is stored in plain text; run \`konta token set --provider ${name}${key === "token" ? "" : " --approle"}\` (on stdin) to store it encrypted`);
    }
  }
  if (config.report?.token !== undefined && !config.report.token.startsWith("enc:v1:")) {
    warnings.push(`${file}: report.token is stored in plain text; run \`konta token set --report\` (token on stdin) to store it encrypted`);
  }
  config.warnings = warnings;
  return config;
}
