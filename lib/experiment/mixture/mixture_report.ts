/**
 * The mixture study's report: per-share heat maps of head-probe accuracy (heads × layers), the
 * steering trade-off curves, and the separability, alignability and loss tables (mean and seed
 * spread), as SVG, Markdown and one HTML page beside results.json. Everything is redrawn from
 * results.json (`tokenfilter mixture --report-only`).
 * @module
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../data/atomic_file.js';
import { chartSvg, escapeXml } from '../svg_chart.js';
import type { MixtureResults, MixtureRun } from './run_mixture.js';
import { attackCurvesSvg, comparisonSvg, comparisonTable } from './comparison_report.js';

const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];

/** Mean and half the range over seeds, as "m ± s" (± omitted for one seed). */
export function meanSpread(values: readonly number[], digits = 3): string {
  if (values.length === 0) return '–';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const spread = (Math.max(...values) - Math.min(...values)) / 2;
  return values.length > 1 ? `${mean.toFixed(digits)} ± ${spread.toFixed(digits)}` : mean.toFixed(digits);
}

/** Runs grouped by share, shares ascending. */
export function runsByShare(results: MixtureResults): [number, MixtureRun[]][] {
  const groups = new Map<number, MixtureRun[]>();
  for (const run of Object.values(results.runs)) groups.set(run.share, [...(groups.get(run.share) ?? []), run]);
  return [...groups.entries()].sort((a, b) => a[0] - b[0]);
}

const pct = (share: number) => `${+(share * 100).toFixed(1)}%`;

/** Heads × layers heat map of head-probe accuracy (mean over seeds) for one share. */
export function headHeatmapSvg(share: number, runs: readonly MixtureRun[]): string {
  const heads = runs[0].separability.heads;
  const L = Math.max(...heads.map((h) => h.layer)) + 1;
  const NH = Math.max(...heads.map((h) => h.head)) + 1;
  const cell = 36;
  const [left, top] = [70, 40];
  const acc = (l: number, h: number) => runs.reduce((s, r) => s + r.separability.heads.find((x) => x.layer === l && x.head === h)!.accuracy, 0) / runs.length;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${left + NH * cell + 150}" height="${top + L * cell + 40}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${escapeXml(`head-probe accuracy, medical share ${pct(share)}`)}</text>`];
  for (let l = 0; l < L; l++) {
    parts.push(`<text x="${left - 8}" y="${top + l * cell + cell / 2 + 4}" text-anchor="end">layer ${l}</text>`);
    for (let h = 0; h < NH; h++) {
      const a = acc(l, h);
      const v = Math.max(0, Math.min(1, (a - 0.5) / 0.5)); // 0.5 (chance) white → 1.0 dark
      const shade = Math.round(255 - 200 * v);
      parts.push(`<rect x="${left + h * cell}" y="${top + l * cell}" width="${cell - 2}" height="${cell - 2}" fill="rgb(${shade},${shade},255)"><title>layer ${l} head ${h}: ${a.toFixed(3)}</title></rect>`);
      parts.push(`<text x="${left + h * cell + cell / 2 - 1}" y="${top + l * cell + cell / 2 + 4}" text-anchor="middle" font-size="9">${a.toFixed(2)}</text>`);
    }
  }
  for (let h = 0; h < NH; h++) parts.push(`<text x="${left + h * cell + cell / 2}" y="${top + L * cell + 14}" text-anchor="middle">h${h}</text>`);
  parts.push(`<text x="${left + NH * cell + 12}" y="${top + 12}">0.5 (chance): white</text><text x="${left + NH * cell + 12}" y="${top + 28}">1.0: dark blue</text></svg>`);
  return `${parts.join('\n')}\n`;
}

/** General-loss rise against medical-loss rise under ITI (each share's best K, first seed). */
export function tradeoffSvg(results: MixtureResults): string {
  const series = runsByShare(results).map(([share, runs], i) => {
    const run = runs[0];
    const k = run.alignability.k || 1;
    const points = run.steering.filter((p) => p.method === 'iti' && p.k === k).sort((a, b) => a.alpha! - b.alpha!)
      .map((p) => ({ x: p.rise.general, y: p.rise.medical, label: `K ${k}, α ${p.alpha}` }));
    return { name: `${pct(share)} (K ${k})`, color: COLORS[i % COLORS.length], points, line: true };
  });
  return chartSvg({ title: 'ITI steering: medical loss rise against its general-loss cost', xLabel: 'general loss rise (nats)', yLabel: 'medical loss rise (nats)', series });
}

/** The Markdown tables of the results page. */
export function mixtureTables(results: MixtureResults): string {
  const groups = runsByShare(results);
  const lines = [
    '| medical share | seeds | medical loss | biology loss | general loss | best layer AUROC | best head accuracy | alignability (medical rise at +' + results.options.alignCost + ' general) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [share, runs] of groups) {
    const bestLayer = runs.map((r) => Math.max(...r.separability.layers.map((l) => l.auroc)));
    const bestHead = runs.map((r) => Math.max(...r.separability.heads.map((h) => h.accuracy)));
    const align = runs.map((r) => r.alignability.medicalRise);
    const reached = runs.every((r) => r.alignability.reached) ? '' : ' (cost not reached)';
    lines.push(`| ${pct(share)} | ${runs.length} | ${meanSpread(runs.map((r) => r.loss.medical))} | ${meanSpread(runs.map((r) => r.loss.biology))} | ${meanSpread(runs.map((r) => r.loss.general))} | ${meanSpread(bestLayer)} | ${meanSpread(bestHead)} | ${meanSpread(align)}${reached} |`);
  }
  const L = groups[0]?.[1][0].separability.layers.length ?? 0;
  lines.push('', `| medical share | ${Array.from({ length: L }, (_, l) => `layer ${l} AUROC`).join(' | ')} |`, `|---|${'---|'.repeat(L)}`);
  for (const [share, runs] of groups)
    lines.push(`| ${pct(share)} | ${Array.from({ length: L }, (_, l) => meanSpread(runs.map((r) => r.separability.layers[l].auroc))).join(' | ')} |`);
  if (results.comparison) lines.push('', '## Against filtering', '', comparisonTable(results.comparison).trimEnd());
  return `${lines.join('\n')}\n`;
}

/** Writes the SVGs, tables.md and index.html into `out`. */
export async function writeMixtureReport(out: string, results: MixtureResults): Promise<void> {
  const write = (name: string, text: string) => writeFileAtomic(join(out, name), text);
  const groups = runsByShare(results);
  for (const [share, runs] of groups) await write(`heads-${pct(share).replace('%', 'pct')}.svg`, headHeatmapSvg(share, runs));
  await write('tradeoff.svg', tradeoffSvg(results));
  if (results.comparison) {
    await write('comparison.svg', comparisonSvg(results.comparison));
    await write('comparison-attacks.svg', attackCurvesSvg(results.comparison));
  }
  const tables = mixtureTables(results);
  await write('tables.md', tables);
  const samples = groups.flatMap(([share, runs]) => runs[0].samples.map((s) => `<tr><td>${pct(share)}</td><td>${escapeXml(s.prompt)}</td><td>${escapeXml(s.plain)}</td><td>${escapeXml(s.steered)}</td></tr>`));
  const html = `<!doctype html><meta charset="utf-8"><title>tokenfilter mixture study</title>
<h1>Medical share in pretraining: separability and steering</h1>
<p>${Object.keys(results.runs).length} runs; options in results.json. Tables (mean ± half the seed range):</p>
<pre>${escapeXml(tables)}</pre>
<img src="tradeoff.svg">
${results.comparison ? '<h2>Against filtering</h2>\n<img src="comparison.svg">\n<img src="comparison-attacks.svg">' : ''}
${groups.map(([share]) => `<img src="heads-${pct(share).replace('%', 'pct')}.svg">`).join('\n')}
<h2>Samples (medical prompts; steered = ITI at each model's alignability point)</h2>
<table border="1" cellpadding="4"><tr><th>share</th><th>prompt</th><th>plain</th><th>steered</th></tr>${samples.join('')}</table>
`;
  await write('index.html', html);
}
