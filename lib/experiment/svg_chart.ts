/**
 * A small, dependency-free SVG chart: points and lines of several named series on linear or
 * logarithmic axes, with ticks, a legend and hover titles. Enough for the experiment's scaling,
 * Pareto and recovery plots; the numbers behind every plot are in the JSON beside it.
 * @module
 */

/** One series of a chart. */
export interface ChartSeries {
  name: string;
  color: string;
  points: { x: number; y: number; label?: string }[];
  /** Join the points with a line (in the order given). Default false. */
  line?: boolean;
  /** Draw markers. Default true. */
  markers?: boolean;
  /** Dashed line. */
  dashed?: boolean;
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: ChartSeries[];
  width?: number;
  height?: number;
}

/** Renders `spec` as a standalone SVG document. */
export function chartSvg(spec: ChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const margin = { top: 36, right: 170, bottom: 50, left: 70 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const fx = spec.logX ? Math.log10 : (v: number) => v;
  const fy = spec.logY ? Math.log10 : (v: number) => v;
  const usable = all.filter((p) => (!spec.logX || p.x > 0) && (!spec.logY || p.y > 0));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(spec.title)}</text>`);
  if (usable.length === 0) {
    parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH / 2}" text-anchor="middle">no data yet</text></svg>`);
    return parts.join('\n') + '\n';
  }
  const [x0, x1] = padded(usable.map((p) => fx(p.x)));
  const [y0, y1] = padded(usable.map((p) => fy(p.y)));
  const sx = (v: number) => margin.left + ((fx(v) - x0) / (x1 - x0)) * plotW;
  const sy = (v: number) => margin.top + ((y1 - fy(v)) / (y1 - y0)) * plotH;
  for (const t of ticks(x0, x1, spec.logX)) {
    const px = margin.left + ((t.at - x0) / (x1 - x0)) * plotW;
    parts.push(`<line x1="${px}" x2="${px}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${px}" y="${margin.top + plotH + 16}" text-anchor="middle">${t.text}</text>`);
  }
  for (const t of ticks(y0, y1, spec.logY)) {
    const py = margin.top + ((y1 - t.at) / (y1 - y0)) * plotH;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py}" y2="${py}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${py + 4}" text-anchor="end">${t.text}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logX || p.x > 0) && (!spec.logY || p.y > 0));
    if (s.line && pts.length > 1)
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    if (s.markers !== false)
      for (const p of pts)
        parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${escapeXml(`${s.name}${p.label ? ` ${p.label}` : ''}: (${fmt(p.x)}, ${fmt(p.y)})`)}</title></circle>`);
    const ly = margin.top + 8 + k * 18;
    parts.push(`<line x1="${width - margin.right + 14}" x2="${width - margin.right + 32}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    parts.push(`<text x="${width - margin.right + 38}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function padded(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

/** About five round ticks in [lo, hi] (log10 units when `log`). */
function ticks(lo: number, hi: number, log?: boolean): { at: number; text: string }[] {
  const span = hi - lo;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: { at: number; text: string }[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) out.push({ at: t, text: log ? fmt(10 ** t) : fmt(t) });
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** Escapes text for SVG and HTML. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
