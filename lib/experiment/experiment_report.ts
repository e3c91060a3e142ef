/**
 * The experiment's report, rewritten from `results.json` whenever it changes: `scaling.svg`
 * (held-out loss against training FLOPs per domain, baseline fit and filtered runs),
 * `pareto.svg` (retain loss against forget loss across the flagged-fraction sweep),
 * `table.txt` and `index.html` (both, with every table).
 * @module
 */
import { writeFileAtomic } from '../data/atomic_file.js';
import { join } from 'node:path';
import { predictLoss } from '../eval/scaling.js';
import type { ExperimentRun, FilteringExperimentResults } from './experiment_results.js';
import { sizeName } from './model_size.js';
import type { AttackRecord } from './attack_stage.js';
import { chartSvg, type ChartSeries } from './svg_chart.js';
import { experimentTables } from './experiment_tables.js';

/** Colours per mode, shared by every plot. */
export const MODE_COLORS: Record<string, string> = { baseline: '#222222', document: '#8c8c8c', mask: '#4c78a8', remove: '#e45756', rmu: '#f58518' };

/** Paths written and the text table. */
export interface ExperimentReportFiles {
  html: string;
  svgs: string[];
  table: string;
}

/** Writes the report files into `out` (each atomically). */
export async function writeExperimentReport(out: string, results: FilteringExperimentResults): Promise<ExperimentReportFiles> {
  const table = experimentTables(results);
  const svgs: [string, string][] = [
    ['scaling.svg', scalingSvg(results, 'medical')],
    ['scaling-biology.svg', scalingSvg(results, 'biology')],
    ['scaling-general.svg', scalingSvg(results, 'general')],
    ['pareto.svg', paretoSvg(results)],
    ...(Object.values(results.runs).some((r) => r.loss.mixed_medical !== undefined) ? [['pareto-mixed.svg', paretoSvg(results, 'mixed_medical', 'mixed_retain')] as [string, string]] : []),
    ['attack.svg', attackSvg(results)],
  ];
  const html = experimentHtml(results, table, svgs.map(([name]) => name));
  for (const [name, text] of [...svgs, ['table.txt', `${table}\n`], ['index.html', html]] as [string, string][]) {
    const path = join(out, name);
    await writeFileAtomic(path, text);
  }
  return { html: join(out, 'index.html'), svgs: svgs.map(([name]) => join(out, name)), table };
}

/** Loss against compute on one domain: every ladder run, and the baseline's power-law fit. */
export function scalingSvg(results: FilteringExperimentResults, domain: string): string {
  const ladder = Object.values(results.runs).filter((r) => r.series === 'ladder');
  const series: ChartSeries[] = [];
  for (const mode of ['baseline', 'document', 'mask', 'remove']) {
    const runs = ladder.filter((r) => r.mode === mode).sort((a, b) => a.trainFlops - b.trainFlops);
    if (runs.length) series.push({ name: mode, color: MODE_COLORS[mode], line: true, points: runs.map((r) => ({ x: r.trainFlops, y: r.loss[domain], label: sizeName(r.size) })) });
  }
  const fit = results.fits?.[domain];
  if (fit) {
    const [lo, hi] = fit.computeRange;
    const xs = [lo / 3, lo, Math.sqrt(lo * hi), hi, hi * 3];
    series.push({ name: `baseline fit (b=${fit.exponent.toFixed(3)})`, color: '#999999', line: true, markers: false, dashed: true, points: xs.map((x) => ({ x, y: predictLoss(fit, x) })) });
  }
  return chartSvg({ title: `Held-out ${domain} loss vs. training compute`, xLabel: 'training FLOPs', yLabel: `${domain} loss (nats/token)`, logX: true, logY: true, series });
}

/**
 * Retain loss against forget loss across the sweep (seed means per mode and fraction), with the
 * baseline: biology against medical by default, or the two parts of the held-out mixed documents.
 */
export function paretoSvg(results: FilteringExperimentResults, forget = 'medical', retain = 'biology'): string {
  const sweep = Object.values(results.runs).filter((r) => r.series === 'sweep' && r.loss[forget] !== undefined);
  const meanOf = (runs: ExperimentRun[], d: string) => runs.reduce((a, r) => a + r.loss[d], 0) / runs.length;
  const series: ChartSeries[] = [];
  for (const mode of ['document', 'mask', 'remove']) {
    const byFraction = new Map<number, ExperimentRun[]>();
    for (const r of sweep.filter((r) => r.mode === mode)) byFraction.set(r.filter?.fraction ?? 0, [...(byFraction.get(r.filter?.fraction ?? 0) ?? []), r]);
    const points = [...byFraction.values()]
      .map((runs) => ({ x: meanOf(runs, forget), y: meanOf(runs, retain), flagged: runs.reduce((a, r) => a + r.flaggedFraction, 0) / runs.length }))
      .sort((a, b) => a.flagged - b.flagged)
      .map((p) => ({ x: p.x, y: p.y, label: `${(100 * p.flagged).toFixed(1)}% filtered` }));
    if (points.length) series.push({ name: mode, color: MODE_COLORS[mode], line: true, points });
  }
  const size = sweep[0]?.size;
  const bases = size ? Object.values(results.runs).filter((r) => r.mode === 'baseline' && r.series === 'ladder' && sizeName(r.size) === sizeName(size) && sweep.some((s) => s.seed === r.seed)) : [];
  if (bases.length) series.push({ name: 'baseline', color: MODE_COLORS.baseline, points: [{ x: meanOf(bases, forget), y: meanOf(bases, retain) }] });
  return chartSvg({ title: `Forget vs. retain loss across flagged fractions${size ? ` (${sizeName(size)}, seed means)` : ''}`, xLabel: `${forget} (forget) loss — higher is better`, yLabel: `${retain} (retain) loss — lower is better`, series });
}

/** Forget loss against fine-tuning tokens for every attacked model, with the baseline's loss as the target. */
export function attackSvg(results: FilteringExperimentResults): string {
  const attacks = Object.values((results.extra.attacks ?? {}) as Record<string, AttackRecord>);
  const series: ChartSeries[] = attacks.map((a) => {
    const mode = a.model === 'rmu' ? 'rmu' : a.model.split('-')[0];
    return { name: `${a.model} (lr ${a.lr})`, color: MODE_COLORS[mode] ?? '#72b7b2', line: true, points: a.curve.map((p) => ({ x: p.tokens, y: p.loss })) };
  });
  if (attacks.length > 0) {
    const xMax = Math.max(...attacks.flatMap((a) => a.curve.map((p) => p.tokens)), 1);
    series.push({ name: 'baseline (target)', color: MODE_COLORS.baseline, line: true, markers: false, dashed: true, points: [{ x: 0, y: attacks[0].targetLoss }, { x: xMax, y: attacks[0].targetLoss }] });
  }
  return chartSvg({ title: 'Recovery under adversarial fine-tuning on medical text', xLabel: 'fine-tuning tokens', yLabel: 'medical loss (nats/token)', series });
}

function experimentHtml(results: FilteringExperimentResults, table: string, svgs: string[]): string {
  const c = results.corpus;
  const extras = Object.entries(results.extra)
    .filter(([name]) => name !== 'mcq' && name !== 'attacks' && name !== 'rmu')
    .map(([name, value]) => `<h2>${escapeHtml(name)}</h2>\n<pre>${escapeHtml(JSON.stringify(value, null, 2).slice(0, 20000))}</pre>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenfilter experiment</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}img{max-width:100%}</style>
</head><body>
<h1>tokenfilter filtering experiment</h1>
<p>Forget domain <b>medical</b>; retain <b>biology</b> and <b>general</b>. ${c ? `${c.trainTokens.toLocaleString('en')} training tokens available (${Object.entries(c.trainDomainFraction).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', ')}), ${c.valTokens.toLocaleString('en')} held-out.` : ''}
Scores: ${results.classifier ? `token classifier ${escapeHtml(results.classifier.path)} (layer ${results.classifier.layer})` : 'document domains'}; ladder threshold ${results.threshold?.toFixed(3) ?? 'n/a'}.
Backend: ${results.backend.threads} threads, ${results.backend.simd}. Updated ${escapeHtml(results.updated)}.</p>
${svgs.map((s) => `<p><img src="${s}" alt="${s}"></p>`).join('\n')}
<pre>${escapeHtml(table)}</pre>
${extras}
<p>Every number: <a href="results.json">results.json</a>.</p>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
