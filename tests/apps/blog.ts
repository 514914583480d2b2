// The WordPress example (examples/wordpress) on a server in a box, shared by its scenarios
// (wordpress.test.ts) and the 512 MB run of 100 commits (bench/wordpress-512.ts): the repository with
// the images this machine has, and the blog's first post over HTTP.
import type { FileSpec } from "../support/repo.ts";
import type { Box } from "../server/box.ts";
import { exampleFiles, password } from "./examples.ts";

export const POST = "Konta keeps this post";
/** its images in tests/apps/images.sh */
export const IMAGES = ["mariadb", "wordpress"];
const ADMIN = { user: "admin", password: "wp-admin-pw-51c2" };

export interface Variant {
  /** more of apps/blog/.env (the images, the port) */
  env?: Record<string, string>;
  /** more environment for the wordpress service (a settings-only change) */
  wordpressEnv?: Record<string, string>;
  /** WordPress follows new images pushed under its tag (konta.image-updates, as the example's comment says) */
  follow?: boolean;
}

/** The example repository as a person copies it, with the images this machine has. */
export function example(port: number, v: Variant = {}): Record<string, FileSpec> {
  const files = exampleFiles("wordpress");
  const compose = files["apps/blog/docker-compose.yml"] as { content: string };
  const extra = Object.entries(v.wordpressEnv ?? {}).map(([k, val]) => `      ${k}: "${val}"\n`).join("");
  compose.content = compose.content.replace("      WORDPRESS_DB_NAME: wordpress\n", `      WORDPRESS_DB_NAME: wordpress\n${extra}`);
  if (v.follow) {
    // the last service's labels are WordPress's
    const managed = '    labels: { konta.managed: "true" }\n';
    const at = compose.content.lastIndexOf(managed);
    compose.content = `${compose.content.slice(0, at)}    labels: { konta.managed: "true", konta.image-updates: "true" }\n${compose.content.slice(at + managed.length)}`;
  }
  files["apps/blog/.env"] = Object.entries({ MARIADB_IMAGE: "konta-apps/mariadb:10.11", WORDPRESS_IMAGE: "konta-apps/wordpress:6.1", HTTP_PORT: `127.0.0.1:${port}`, ...v.env })
    .map(([k, val]) => `${k}=${val}\n`)
    .join("");
  return files;
}

/** The blog's two passwords, as the README's printf line writes them. */
export function passwords(): string {
  return `DB_PASSWORD=${password()}\nDB_ROOT_PASSWORD=${password()}\n`;
}

/** WordPress's install form as the browser posts it, then a post over XML-RPC: the post's ID. */
export async function installAndPost(box: Box, port: number): Promise<string> {
  const install = await box.exec(
    `curl -sS --max-time 20 -d weblog_title=Konta -d user_name=${ADMIN.user} -d admin_password=${ADMIN.password} -d admin_password2=${ADMIN.password} -d pw_weak=1 -d admin_email=admin@konta.invalid -d blog_public=0 'http://127.0.0.1:${port}/wp-admin/install.php?step=2'`,
  );
  if (!install.out.includes("Success!")) throw new Error(`WordPress's install form failed:\n${install.out}${install.err}`);
  const call = `<?xml version="1.0"?><methodCall><methodName>wp.newPost</methodName><params>
<param><value><int>1</int></value></param><param><value><string>${ADMIN.user}</string></value></param><param><value><string>${ADMIN.password}</string></value></param>
<param><value><struct><member><name>post_title</name><value><string>${POST}</string></value></member>
<member><name>post_content</name><value><string>Written before every deploy of this test.</string></value></member>
<member><name>post_status</name><value><string>publish</string></value></member></struct></value></param></params></methodCall>`;
  const created = await box.exec(`curl -sS --max-time 20 -H 'Content-Type: text/xml' --data-binary @- http://127.0.0.1:${port}/xmlrpc.php`, { input: call });
  const id = /<string>(\d+)<\/string>/.exec(created.out)?.[1];
  if (!id) throw new Error(`the post was not created:\n${created.out}${created.err}`);
  return id;
}

/** Whether the post is served to a visitor. */
export async function served(box: Box, port: number, postId: string): Promise<boolean> {
  return (await box.exec(`curl -sS --max-time 20 'http://127.0.0.1:${port}/?p=${postId}'`)).out.includes(POST);
}
