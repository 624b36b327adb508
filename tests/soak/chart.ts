/**
 * A small SVG chart of the soak's series: one panel per series (its own scale), time along the
 * bottom. Pure: series in, SVG text out. Enough to see a trend at a glance; the CSV has the data.
 */
export interface Series {
  readonly name: string;
  readonly unit: string;
  readonly points: readonly { t: number; v: number }[];
}

const W = 900;
const PANEL = 150;
const PAD = 50;

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function chartSvg(title: string, series: readonly Series[]): string {
  const all = series.flatMap((s) => s.points.map((p) => p.t));
  const t0 = all.length ? Math.min(...all) : 0;
  const t1 = all.length ? Math.max(...all) : 1;
  const x = (t: number) => PAD + ((t - t0) / Math.max(1, t1 - t0)) * (W - 2 * PAD);
  const height = 40 + series.length * (PANEL + 20);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif" font-size="12">`, `<text x="${PAD}" y="20" font-size="14">${esc(title)}</text>`];
  series.forEach((s, i) => {
    const top = 40 + i * (PANEL + 20);
    const vs = s.points.map((p) => p.v).filter(Number.isFinite);
    const lo = Math.min(0, ...vs);
    const hi = Math.max(lo + 1e-9, ...vs);
    const y = (v: number) => top + PANEL - ((v - lo) / (hi - lo)) * PANEL;
    const line = s.points.filter((p) => Number.isFinite(p.v)).map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    parts.push(
      `<rect x="${PAD}" y="${top}" width="${W - 2 * PAD}" height="${PANEL}" fill="none" stroke="#ccc"/>`,
      `<text x="${PAD + 4}" y="${top + 14}">${esc(`${s.name} (${s.unit}), max ${fmt(hi)}`)}</text>`,
      `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line}"/>`,
      `<text x="${PAD}" y="${top + PANEL + 14}">0 s</text>`,
      `<text x="${W - PAD - 40}" y="${top + PANEL + 14}">${Math.round((t1 - t0) / 1_000)} s</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : v.toPrecision(3);
}
