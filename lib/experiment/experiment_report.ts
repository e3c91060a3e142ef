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
import type { McqSummary } from './mcq_stage.js';
import { chartSvg, type ChartSeries } from './svg_chart.js';
import { seedGroups, spreadText } from './seed_summary.js';
import { DOMAINS, FORGET_FIRST } from '../data/domains.js';

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

/** Ladder and sweep tables as aligned text. */
export function experimentTables(results: FilteringExperimentResults): string {
  const runs = Object.values(results.runs);
  const ladder = runs.filter((r) => r.series === 'ladder').sort(bySizeThenMode);
  const baselineOf = (r: ExperimentRun) => results.runs[`baseline-${sizeName(r.size)}-s${r.seed}`];
  const slowdown = new Map(results.slowdowns.filter((s) => (s.domain ?? 'medical') === 'medical').map((s) => [s.id, s]));
  const mixed = ladder.some((r) => r.loss.mixed_medical !== undefined);
  const mixedDomains = mixed ? ['mixed_medical', 'mixed_retain'] : [];
  const ladderRows = ladder.map((r) => {
    const b = baselineOf(r);
    const s = slowdown.get(r.id);
    return [
      sizeName(r.size), String(r.seed), r.mode, compact(r.nonEmbeddingParams), r.trainFlops.toExponential(2), `${(100 * r.flaggedFraction).toFixed(1)}%`,
      ...DOMAINS.map((d) => r.loss[d].toFixed(4)),
      ...['medical', 'biology', 'general', ...mixedDomains].map((d) => (b && r.mode !== 'baseline' ? signed(r.loss[d] - b.loss[d]) : '')),
      `${r.steps}`, compact(r.trainSupervisedTokens),
      s ? (s.slowdown !== null ? `${s.slowdown.toPrecision(3)}×${s.extrapolation && s.extrapolation > 1 ? ' (extrap.)' : ''}` : 'n/a') : '',
    ];
  });
  const o = results.options;
  const parts = [
    `Stream: ${results.corpus?.stream ?? 'documents'}; compute matched on ${o.match === 'steps' || o.match === undefined && ladder.every((r) => !r.match) ? 'steps (same compute)' : "the baseline's supervised tokens"}; document filter: ${results.classifier && o.documentScores !== 'mean' ? 'document classifier' : 'mean token score'}; ladder flags ${results.extra.ladder_fraction !== undefined ? `${(100 * (results.extra.ladder_fraction as number)).toFixed(1)}% of training tokens in every mode` : 'at the threshold'}`,
    '',
    'Ladder (compute-optimal, held-out loss in nats/token)',
    align(['size', 'seed', 'mode', 'non-emb', 'FLOPs', 'filtered', ...DOMAINS, ...FORGET_FIRST.map((d) => `Δ ${d}`), ...mixedDomains.map((d) => `Δ ${d}`), 'steps', 'supervised', 'slowdown'], ladderRows),
  ];
  const groups = seedGroups(results);
  if (groups.length > 0) {
    const domains = ['medical', 'biology', 'general', ...mixedDomains];
    parts.push('', 'Seed means ± half-range (Δ against the same seed\'s baseline; slowdown per held-out loss)');
    parts.push(align(['series', 'size', 'mode', 'setting', 'seeds', 'filtered', ...domains.map((d) => `Δ ${d}`), ...domains.map((d) => `slowdown ${d}`)], groups.map((g) => [
      g.series, g.size, g.mode, g.setting, String(g.seeds.length), `${(100 * g.flagged.mean).toFixed(1)}%`,
      ...domains.map((d) => spreadText(g.delta[d])), ...domains.map((d) => spreadText(g.slowdown[d], 2, '×')),
    ])));
  }
  if (results.fits) {
    parts.push('', 'Baseline fits: loss = exp(a) · C^b');
    parts.push(align(['domain', 'b', 'R²', 'points'], Object.entries(results.fits).map(([d, f]) => [d, f.exponent.toFixed(4), f.r2.toFixed(4), String(f.points)])));
  }
  const sweep = runs.filter((r) => r.series === 'sweep').sort((a, b) => a.mode.localeCompare(b.mode) || (b.filter?.fraction ?? 0) - (a.filter?.fraction ?? 0));
  if (sweep.length > 0) {
    parts.push('', `Flagged-fraction sweep at ${sizeName(sweep[0].size)}`);
    const b = baselineOf(sweep[0]);
    parts.push(align(['mode', 'target', 'filtered', 'forget recall', 'forget precision', 'medical', 'biology', 'general', 'Δ medical', 'Δ biology'], sweep.map((r) => [
      r.mode, `${(100 * (r.filter?.fraction ?? 0)).toFixed(1)}%`, `${(100 * r.flaggedFraction).toFixed(1)}%`,
      r.filterStats?.forget ? r.filterStats.forget.recall.toFixed(3) : '', r.filterStats?.forget ? r.filterStats.forget.precision.toFixed(3) : '',
      r.loss.medical.toFixed(4), r.loss.biology.toFixed(4), r.loss.general.toFixed(4),
      b ? signed(r.loss.medical - b.loss.medical) : '', b ? signed(r.loss.biology - b.loss.biology) : '',
    ])));
  }
  const noise = runs.filter((r) => r.series === 'noise').sort((a, b) => (a.filter?.noise ?? 0) - (b.filter?.noise ?? 0));
  if (noise.length > 0) {
    parts.push('', `Label noise at ${sizeName(noise[0].size)} (${noise[0].mode}; a share of the flags moved off and as many on, so the flagged share stays fixed)`);
    const b = baselineOf(noise[0]);
    parts.push(align(['mode', 'moved', 'flag error', 'filtered', 'medical', 'biology', 'Δ medical', 'Δ biology', 'slowdown'], noise.map((r) => {
      const s = slowdown.get(r.id);
      return [
        r.mode, (r.filter?.noise ?? 0).toFixed(3), r.flagErrorRate === null ? '' : r.flagErrorRate.toFixed(3), `${(100 * r.flaggedFraction).toFixed(1)}%`,
        r.loss.medical.toFixed(4), r.loss.biology.toFixed(4), b ? signed(r.loss.medical - b.loss.medical) : '', b ? signed(r.loss.biology - b.loss.biology) : '',
        s?.slowdown != null ? `${s.slowdown.toPrecision(3)}×` : 'n/a',
      ];
    })));
  }
  const attacks = results.extra.attacks as Record<string, AttackRecord> | undefined;
  const rmuRecord = results.extra.rmu as { of: string; layer: number; blocks: number[]; steps: number; loss: Record<string, number> } | undefined;
  if (rmuRecord) {
    const b = results.runs[rmuRecord.of];
    parts.push('', `RMU on ${rmuRecord.of}: steered layer ${rmuRecord.layer}, MLPs of blocks ${rmuRecord.blocks.join(', ')} updated, ${rmuRecord.steps} steps`);
    parts.push(align(['model', ...FORGET_FIRST, ...FORGET_FIRST.map((d) => `Δ ${d}`)], [[
      'rmu', ...FORGET_FIRST.map((d) => rmuRecord.loss[d].toFixed(4)),
      ...FORGET_FIRST.map((d) => (b ? signed(rmuRecord.loss[d] - b.loss[d]) : '')),
    ]]));
  }
  if (attacks && Object.keys(attacks).length > 0) {
    parts.push('', 'Adversarial fine-tuning on medical text until the baseline\'s medical loss (constant LR, fastest of the sweep)');
    parts.push(align(['model', 'lr', 'start loss', 'target', 'reached', 'tokens to target', '% of pretraining', 'budget'], Object.values(attacks).map((a) => [
      a.model, String(a.lr), a.startLoss.toFixed(4), a.targetLoss.toFixed(4), a.reached ? 'yes' : 'no',
      a.tokensToTarget === null ? `> ${a.budgetTokens}` : String(Math.round(a.tokensToTarget)),
      a.fractionOfPretraining === null ? '' : `${(100 * a.fractionOfPretraining).toFixed(2)}%`, String(a.budgetTokens),
    ])));
  }
  const mcq = results.extra.mcq as Record<string, McqSummary> | undefined;
  if (mcq && Object.keys(mcq).length > 0) {
    parts.push('', 'Multiple choice (accuracy; chance 0.25; margin = mean log-prob of the correct answer minus the best wrong one)');
    const rows: string[][] = [];
    for (const [id, m] of Object.entries(mcq))
      for (const [format, norm] of [['cloze', 'raw'], ['cloze', 'char'], ['letter', 'raw']]) {
        const byDomain = m[format]?.scores[norm];
        if (!byDomain) continue;
        rows.push([id, `${format}/${norm}`, ...DOMAINS.flatMap((d) => [byDomain[d] ? byDomain[d].accuracy.toFixed(3) : '', byDomain[d] ? byDomain[d].meanMargin.toFixed(3) : ''])]);
      }
    parts.push(align(['model', 'format', ...DOMAINS.flatMap((d) => [`${d} acc`, `${d} margin`])], rows));
  }
  return parts.join('\n');
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

function bySizeThenMode(a: ExperimentRun, b: ExperimentRun): number {
  const order = ['baseline', 'document', 'mask', 'remove'];
  return a.nonEmbeddingParams - b.nonEmbeddingParams || a.seed - b.seed || order.indexOf(a.mode) - order.indexOf(b.mode);
}

function align(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
}

function compact(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
