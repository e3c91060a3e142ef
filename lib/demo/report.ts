/**
 * The demo's report: `report.json` (every number), `loss.svg` (held-out loss change against the
 * baseline, per domain and filtering mode) and `index.html` (both, one page).
 * @module
 */
import { writeFileAtomic } from '../data/atomic_file.js';
import { join } from 'node:path';
import type { DemoReport } from './run_demo.js';
import { FORGET_FIRST } from '../data/domains.js';


/** Writes report.json, loss.svg and index.html into `dir` (each atomically); returns their paths. */
export async function writeDemoReport(dir: string, report: DemoReport): Promise<string[]> {
  const files: [string, string][] = [
    ['report.json', JSON.stringify(report, null, 2) + '\n'],
    ['loss.svg', lossChartSvg(report)],
    ['index.html', reportHtml(report)],
  ];
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFileAtomic(path, text);
    paths.push(path);
  }
  return paths;
}

/** The summary table printed at the end of the demo (plain text, aligned columns). */
export function formatDemoTable(report: DemoReport): string {
  const header = ['mode', 'filtered', 'steps', ...FORGET_FIRST.map((d) => `${d} loss`), ...FORGET_FIRST.map((d) => `Δ ${d}`)];
  const base = report.runs.find((r) => r.mode === 'baseline');
  const rows = report.runs.map((r) => [
    r.mode,
    `${(100 * r.flaggedFraction).toFixed(1)}%`,
    String(r.steps),
    ...FORGET_FIRST.map((d) => r.loss[d].toFixed(3)),
    ...FORGET_FIRST.map((d) => (base ? signed(r.loss[d] - base.loss[d]) : '')),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The lines printed above the table: where the labels came from, how the SAE labels and the
 * classifier agree with the gold medical labels, the threshold, and the wall and CPU time of each stage.
 */
export function formatDemoSummary(report: DemoReport): string {
  const lines: string[] = [];
  const prf = (a: { precision: number; recall: number; f1: number }) =>
    `P ${a.precision.toFixed(3)}  R ${a.recall.toFixed(3)}  F1 ${a.f1.toFixed(3)}`;
  const c = report.chain;
  if (c) {
    lines.push('labels: SAE chain (labeller LM → SAE weak labels → biLM token probe → scores)');
    lines.push(
      `  SAE labels vs gold medical (training tokens):  ${prf(c.saeLabels.vsGold)}  ` +
        `(${pct(c.saeLabels.vsGold.flaggedFraction)} labelled, ${pct(c.saeLabels.vsGold.goldFraction)} gold)`,
    );
    lines.push(
      `  classifier vs gold medical (held-out tokens):  ${prf(c.classifier.vsGold)}  at threshold ${c.classifier.threshold.toFixed(3)} ` +
        `(best F1 ${c.classifier.vsGoldBestThreshold.f1.toFixed(3)} at ${c.classifier.vsGoldBestThreshold.threshold.toFixed(3)})`,
    );
  } else lines.push('labels: gold sentence labels of the corpus (no labeller, no classifier)');
  lines.push(
    `filters: ${pct(report.matchedFraction)} of training tokens flagged in every mode` +
      (report.threshold === null ? ` (fraction ${report.options.fraction})` : ` (token threshold ${report.threshold.toFixed(3)})`),
  );
  const seconds = (stages: Record<string, number>) => Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
  lines.push(`stages (s): ${seconds(report.stages)}; total ${report.seconds.toFixed(0)}`);
  lines.push(`CPU (s):    ${seconds(report.stagesCpu)}; total ${report.cpuSeconds.toFixed(0)}`);
  return lines.join('\n');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
}

const COLORS: Record<string, string> = { document: '#8c8c8c', mask: '#4c78a8', remove: '#e45756' };

/** Grouped bars: loss minus the baseline's, per domain (groups) and filtering mode (bars). */
export function lossChartSvg(report: DemoReport): string {
  const base = report.runs.find((r) => r.mode === 'baseline');
  const runs = report.runs.filter((r) => r.mode !== 'baseline');
  const width = 640;
  const height = 360;
  const margin = { top: 40, right: 140, bottom: 50, left: 70 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const deltas = runs.flatMap((r) => FORGET_FIRST.map((d) => (base ? r.loss[d] - base.loss[d] : 0)));
  const max = Math.max(0.01, ...deltas);
  const min = Math.min(0, ...deltas);
  const y = (v: number) => margin.top + ((max - v) / (max - min)) * plotH;
  const groupW = plotW / FORGET_FIRST.length;
  const barW = (groupW * 0.7) / Math.max(1, runs.length);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Held-out loss change vs. the unfiltered baseline (nats/token)</text>`);
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const v = min + ((max - min) * i) / ticks;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  FORGET_FIRST.forEach((d, g) => {
    const x0 = margin.left + g * groupW + groupW * 0.15;
    runs.forEach((r, k) => {
      const v = base ? r.loss[d] - base.loss[d] : 0;
      const top = Math.min(y(v), y(0));
      const h = Math.abs(y(v) - y(0));
      parts.push(`<rect x="${x0 + k * barW}" y="${top}" width="${barW - 2}" height="${h}" fill="${COLORS[r.mode] ?? '#72b7b2'}"><title>${r.mode} ${d}: ${signed(v)}</title></rect>`);
    });
    const label = d === 'medical' ? 'medical (forget)' : d === 'biology' ? 'biology (retain)' : 'general';
    parts.push(`<text x="${margin.left + g * groupW + groupW / 2}" y="${height - margin.bottom + 20}" text-anchor="middle">${label}</text>`);
  });
  runs.forEach((r, k) => {
    const ly = margin.top + 10 + k * 20;
    parts.push(`<rect x="${width - margin.right + 20}" y="${ly - 10}" width="12" height="12" fill="${COLORS[r.mode] ?? '#72b7b2'}"/>`);
    parts.push(`<text x="${width - margin.right + 38}" y="${ly}">${r.mode} (${(100 * r.flaggedFraction).toFixed(1)}%)</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function reportHtml(report: DemoReport): string {
  const m = report.model;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenfilter demo report</title>
<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}pre{background:#f6f6f6;padding:1em;overflow-x:auto}td,th{padding:2px 8px}</style>
</head><body>
<h1>tokenfilter demo</h1>
<p>Forget domain: <b>medical</b>; retain: <b>biology</b> and <b>general</b>. Corpus: WordNet glosses grouped into mixed documents
(${report.corpus.trainTokens.toLocaleString('en')} training tokens, ${(100 * report.corpus.domainTokenFraction.medical).toFixed(1)}% medical).
Labeller: ${escapeHtml(report.labeller)}.</p>
<pre>${escapeHtml(formatDemoSummary(report))}</pre>
<p>Four models of ${m.params.toLocaleString('en')} parameters (${m.layers} layers, width ${m.dModel}, context ${m.context}),
${report.options.steps} baseline steps of ${report.options.batch}×${report.options.context} tokens, runs matched on ${report.options.match === 'steps' ? 'steps (compute)' : 'supervised tokens'}; filtered runs flag a matched
${(100 * report.matchedFraction).toFixed(1)}% of tokens (documents: at least that). Loss in nats per token on held-out documents.</p>
${lossChartSvg(report)}
<pre>${escapeHtml(formatDemoTable(report))}</pre>
<p>Every number: <a href="report.json">report.json</a>. Backend: ${report.backend.threads} threads, ${report.backend.simd}. Took ${report.seconds.toFixed(0)} s (CPU ${report.cpuSeconds.toFixed(0)} s).</p>
</body></html>
`;
}
