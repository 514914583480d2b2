// The scaling chart: an SVG drawn here, turned into PNG with rsvg-convert (Debian's librsvg2-bin,
// installed when missing), since people would rather look than read.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

export interface Point {
  apps: number;
  kontaIdle: number;
  baseIdle: number;
  kontaDeploy: number;
  baseDeploy: number;
}

const W = 900;
const H = 420;
const PANEL = { w: 380, h: 290, top: 70 };

function panel(x0: number, title: string, points: Point[], k: "kontaIdle" | "kontaDeploy", b: "baseIdle" | "baseDeploy"): string {
  const xs = points.map((p) => p.apps);
  const max = Math.max(...points.flatMap((p) => [p[k], p[b]])) * 1.1;
  // log scale on x (1 .. 200 apps), linear seconds on y
  const lx = (apps: number) => x0 + (Math.log10(apps) / Math.log10(Math.max(...xs, 2))) * PANEL.w;
  const ly = (ms: number) => PANEL.top + PANEL.h - (ms / max) * PANEL.h;
  const line = (key: "kontaIdle" | "kontaDeploy" | "baseIdle" | "baseDeploy", color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="3" points="${points.map((p) => `${lx(p.apps).toFixed(1)},${ly(p[key]).toFixed(1)}`).join(" ")}"/>` +
    points.map((p) => `<circle cx="${lx(p.apps).toFixed(1)}" cy="${ly(p[key]).toFixed(1)}" r="4" fill="${color}"/>`).join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = PANEL.top + PANEL.h - f * PANEL.h;
    return `<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${x0 - 8}" y="${y + 4}" text-anchor="end" font-size="12">${((f * max) / 1000).toFixed(1)} s</text>`;
  });
  const xt = xs.map((a) => `<text x="${lx(a)}" y="${PANEL.top + PANEL.h + 18}" text-anchor="middle" font-size="12">${a}</text>`);
  return [
    `<text x="${x0 + PANEL.w / 2}" y="${PANEL.top - 20}" text-anchor="middle" font-size="16" font-weight="bold">${title}</text>`,
    ...ticks,
    ...xt,
    `<text x="${x0 + PANEL.w / 2}" y="${PANEL.top + PANEL.h + 38}" text-anchor="middle" font-size="12">apps (log scale)</text>`,
    line(b, "#c0392b"),
    line(k, "#2471a3"),
  ].join("\n");
}

export function renderChart(points: Point[], svgFile: string, pngFile: string): void {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel(80, "Idle tick (no new commit)", points, "kontaIdle", "baseIdle")}
${panel(510, "Deploy one change (push → serving)", points, "kontaDeploy", "baseDeploy")}
<rect x="330" y="${H - 30}" width="14" height="4" fill="#2471a3"/><text x="350" y="${H - 24}" font-size="13">Konta</text>
<rect x="420" y="${H - 30}" width="14" height="4" fill="#c0392b"/><text x="440" y="${H - 24}" font-size="13">git pull + docker compose up -d per app (Compose v2)</text>
</svg>
`;
  writeFileSync(svgFile, svg);
  if (spawnSync("sh", ["-c", "command -v rsvg-convert"]).status !== 0) {
    spawnSync("apt-get", ["install", "-y", "-qq", "librsvg2-bin"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  const r = spawnSync("rsvg-convert", ["-o", pngFile, svgFile], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rsvg-convert failed: ${r.stderr}`);
}
