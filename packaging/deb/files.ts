// The architecture-independent files of the .deb, written under a staging root: the systemd units
// (rendered for the packaged paths, installed but not enabled), the man pages and the shell
// completions, each generated from Konta's own sources.
//   bun packaging/deb/files.ts <root>
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { bashScript, commandSpecs, fishScript, zshScript } from "../../cli/completion.ts";
import { main } from "../../cli/main.ts";
import { PACKAGED_DEFAULTS, PACKAGED_UNIT_DIR, renderUnits } from "../../lib/flows/install.ts";
import { configPage, kontaPage } from "../man.ts";

const root = resolve(process.argv[2] ?? "");
if (!process.argv[2]) throw new Error("usage: bun packaging/deb/files.ts <staging root>");

function put(path: string, content: string | Uint8Array, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, content, { mode });
}
/** gzip -9n: no name, no timestamp (reproducible, as Debian wants) */
const gz = (text: string) => gzipSync(Buffer.from(text), { level: 9 });

for (const [name, text] of Object.entries(renderUnits(PACKAGED_DEFAULTS))) {
  put(join(PACKAGED_UNIT_DIR, name), text.replace(/^# Written by `konta install`.*\n/, "# Installed by the konta package, not enabled: `konta install` enables it, with drop-ins in /etc/systemd/system/\n"));
}
put("usr/share/man/man1/konta.1.gz", gz(await kontaPage()));
put("usr/share/man/man5/konta.yaml.5.gz", gz(configPage()));
const specs = await commandSpecs(main);
put("usr/share/bash-completion/completions/konta", bashScript(specs));
put("usr/share/zsh/vendor-completions/_konta", zshScript(specs));
put("usr/share/fish/vendor_completions.d/konta.fish", fishScript(specs));
