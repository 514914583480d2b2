// Values of x-konta.secrets from the secret managers of secrets.providers: OpenBao/Vault KV v2
// (bao.ts) and any other through a command (exec.ts). One request per distinct secret a run needs
// (references to fields of one Vault secret share it). Each value is registered for redaction the
// moment it arrives, so no log line, error, plan or notification can show it. A manager that cannot
// be reached, or refuses the server's credentials, is exit 3 (nothing changed, the commit not
// blamed); a reference to nothing there is exit 2 (the commit's).
import { InputError } from "../base/errors.ts";
import { registerSecretValue } from "../base/redact.ts";
import type { KontaConfig } from "../config/types.ts";
import { providerOf } from "../compose/extension.ts";

/** Fetch `refs` ("<provider>:<reference>") into `into`. */
export async function fetchSecrets(refs: string[], config: KontaConfig, keyFile: string, into: Map<string, string>): Promise<void> {
  const byProvider = new Map<string, string[]>();
  for (const ref of new Set(refs)) byProvider.set(providerOf(ref), [...(byProvider.get(providerOf(ref)) ?? []), ref]);
  await Promise.all(
    [...byProvider].map(async ([name, list]) => {
      const p = config.secrets.providers[name];
      if (!p) throw new InputError(`x-konta.secrets: provider "${name}" is not configured on this server (secrets.providers)`);
      const values = p.command ? await (await import("./exec.ts")).execFetch(name, p, list) : await (await import("./bao.ts")).baoFetch(name, p, list, keyFile);
      for (const [ref, value] of values) {
        registerSecretValue(value);
        into.set(ref, value);
      }
    }),
  );
}
