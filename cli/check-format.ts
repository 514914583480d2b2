// `konta check`'s report as a person, a program, GitHub Actions or GitLab reads it.
import type { CheckReport, Finding } from "../lib/flows/check.ts";

/** GitHub workflow commands: a message escapes %, CR and LF; a property also : and ,. */
const ghData = (s: string) => s.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
const ghProp = (s: string) => ghData(s).replaceAll(":", "%3A").replaceAll(",", "%2C");

function where(f: Finding): string {
  return f.file ? `${f.file}${f.line ? `:${f.line}` : ""}: ` : "";
}

function text(r: CheckReport): string {
  const lines = r.findings.map((f) => `${f.level === "error" ? "error" : "note "} ${where(f)}${f.message}${f.hint ? `\n      hint: ${f.hint}` : ""}`);
  const errors = r.findings.filter((f) => f.level === "error").length;
  const notes = r.findings.length - errors;
  lines.push(
    r.accepted
      ? `accepted: ${r.projects.length} project(s) (${r.projects.join(", ") || "none"}) for the ${r.target} target${notes ? `; ${notes} note(s) on what only the server has` : ""}`
      : `refused: ${errors} error(s)${notes ? ` and ${notes} note(s)` : ""}; a sync would change nothing`,
  );
  return lines.join("\n");
}

function github(r: CheckReport): string {
  return r.findings
    .map((f) => {
      const props = [f.file ? `file=${ghProp(f.file)}` : "", f.line ? `line=${f.line}` : "", `title=${ghProp(f.level === "error" ? "konta check" : "konta check: known only on the server")}`].filter(Boolean).join(",");
      return `::${f.level === "error" ? "error" : "notice"} ${props}::${ghData(`${f.message}${f.hint ? `\n${f.hint}` : ""}`)}`;
    })
    .join("\n");
}

/** GitLab's Code Quality report (a JSON array; https://docs.gitlab.com/ci/testing/code_quality/). */
function gitlab(r: CheckReport): string {
  const issues = r.findings.map((f) => ({
    description: `${f.message}${f.hint ? ` (${f.hint})` : ""}`,
    check_name: f.level === "error" ? "konta-check" : "konta-check-server-only",
    fingerprint: new Bun.CryptoHasher("sha256").update(`${f.level}\0${f.file ?? ""}\0${f.message}`).digest("hex"),
    severity: f.level === "error" ? "major" : "info",
    location: { path: f.file ?? ".", lines: { begin: f.line ?? 1 } },
  }));
  return JSON.stringify(issues, null, 2);
}

export function formatCheck(r: CheckReport, format: "text" | "json" | "github" | "gitlab"): string {
  if (format === "json") return JSON.stringify(r, null, 2);
  if (format === "github") return github(r);
  if (format === "gitlab") return gitlab(r);
  return text(r);
}
