/**
 * The experiment's tables as aligned text (`table.txt`, and the body of `index.html`): the
 * settings and the classifier behind the scores, the ladder, seed means, the baseline fits, the
 * flagged-fraction sweep, label noise, RMU, the attacks with their learning-rate sweeps, and
 * multiple choice. Each section is left out when its runs are absent.
 * @module
 */
import { DOMAINS, FORGET_FIRST } from '../data/domains.js';
import type { AttackRecord } from './attack_stage.js';
import type { ExperimentRun, FilteringExperimentResults } from './experiment_results.js';
import type { McqSummary } from './mcq_stage.js';
import { sizeName } from './model_size.js';
import { seedGroups, spreadText } from './seed_summary.js';

/** Every table of the results, in report order, as aligned text. */
export function experimentTables(results: FilteringExperimentResults): string {
  return [
    settingsLines(results), ladderTable(results), seedTable(results), fitsTable(results), sweepTable(results),
    noiseTable(results), rmuTable(results), attackTables(results), mcqTable(results),
  ].filter((part) => part !== '').join('\n\n');
}

/** What every table rests on: stream, compute matching, document filter, flagged share, and where the scores came from. */
function settingsLines(results: FilteringExperimentResults): string {
  const o = results.options;
  const ladder = Object.values(results.runs).filter((r) => r.series === 'ladder');
  const matched = o.match === 'steps' || (o.match === undefined && ladder.every((r) => !r.match)) ? 'steps (same compute)' : "the baseline's supervised tokens";
  const flags = results.extra.ladder_fraction !== undefined ? `${(100 * (results.extra.ladder_fraction as number)).toFixed(1)}% of training tokens in every mode` : 'at the threshold';
  const lines = [
    `Stream: ${results.corpus?.stream ?? 'documents'}; compute matched on ${matched}; document filter: ${results.classifier && o.documentScores !== 'mean' ? 'document classifier' : 'mean token score'}; ladder flags ${flags}`,
    scoresLine(results),
  ];
  const builds = results.streamBuilds ?? [];
  const aside = builds.filter((b) => b.superseded !== null);
  if (builds.length > 1)
    lines.push(`Training stream built ${builds.length} times, last because ${builds[builds.length - 1].reason}${aside.length ? `; runs of earlier streams set aside in ${aside.map((b) => b.superseded!.folder).join(', ')}` : ''}`);
  return lines.join('\n');
}

/** The token classifier behind the scores, with its F1 on each kind of validation text, or the domain oracle. */
export function scoresLine(results: Pick<FilteringExperimentResults, 'classifier' | 'threshold'>): string {
  const c = results.classifier;
  if (!c) return "Scores: the documents' own domains (an oracle at document level)";
  const ladder = results.threshold !== null && results.threshold !== c.threshold ? `; the ladder flags at ${results.threshold.toFixed(3)}` : '';
  const kinds = c.validation === undefined
    ? 'validation F1 not in these results (a rerun of the experiment reads it from the classifier file)'
    : c.validation.length === 0
      ? 'the classifier file records no validation F1'
      : `validation F1 at its threshold: ${c.validation.map((k) => `${k.name} ${k.f1.toFixed(3)} (P ${k.precision.toFixed(3)}, R ${k.recall.toFixed(3)})`).join(', ')}`;
  return `Scores: token classifier ${c.path} (layer ${c.layer}, threshold ${c.threshold.toFixed(3)}${ladder}); ${kinds}`;
}

/** Every ladder run: size, mode, compute, flagged share, held-out losses, Δ against its baseline, steps, slowdown on medical. */
function ladderTable(results: FilteringExperimentResults): string {
  const ladder = Object.values(results.runs).filter((r) => r.series === 'ladder').sort(bySizeThenMode);
  const slowdown = medicalSlowdowns(results);
  const mixedDomains = mixedDomainsOf(ladder);
  const rows = ladder.map((r) => {
    const b = baselineOf(results, r);
    const s = slowdown.get(r.id);
    return [
      sizeName(r.size), String(r.seed), r.mode, compact(r.nonEmbeddingParams), r.trainFlops.toExponential(2), `${(100 * r.flaggedFraction).toFixed(1)}%`,
      ...DOMAINS.map((d) => r.loss[d].toFixed(4)),
      ...['medical', 'biology', 'general', ...mixedDomains].map((d) => (b && r.mode !== 'baseline' ? signed(r.loss[d] - b.loss[d]) : '')),
      `${r.steps}`, compact(r.trainSupervisedTokens),
      s ? (s.slowdown !== null ? `${s.slowdown.toPrecision(3)}×${s.extrapolation && s.extrapolation > 1 ? ' (extrap.)' : ''}` : 'n/a') : '',
    ];
  });
  return 'Ladder (compute-optimal, held-out loss in nats/token)\n' +
    align(['size', 'seed', 'mode', 'non-emb', 'FLOPs', 'filtered', ...DOMAINS, ...FORGET_FIRST.map((d) => `Δ ${d}`), ...mixedDomains.map((d) => `Δ ${d}`), 'steps', 'supervised', 'slowdown'], rows);
}

/** Seed means ± half-range of every (series, size, mode, setting) group. */
function seedTable(results: FilteringExperimentResults): string {
  const groups = seedGroups(results);
  if (groups.length === 0) return '';
  const domains = ['medical', 'biology', 'general', ...mixedDomainsOf(Object.values(results.runs).filter((r) => r.series === 'ladder'))];
  return "Seed means ± half-range (Δ against the same seed's baseline; slowdown per held-out loss)\n" +
    align(['series', 'size', 'mode', 'setting', 'seeds', 'filtered', ...domains.map((d) => `Δ ${d}`), ...domains.map((d) => `slowdown ${d}`)], groups.map((g) => [
      g.series, g.size, g.mode, g.setting, String(g.seeds.length), `${(100 * g.flagged.mean).toFixed(1)}%`,
      ...domains.map((d) => spreadText(g.delta[d])), ...domains.map((d) => spreadText(g.slowdown[d], 2, '×')),
    ]));
}

function fitsTable(results: FilteringExperimentResults): string {
  if (!results.fits) return '';
  return 'Baseline fits: loss = exp(a) · C^b\n' +
    align(['domain', 'b', 'R²', 'points'], Object.entries(results.fits).map(([d, f]) => [d, f.exponent.toFixed(4), f.r2.toFixed(4), String(f.points)]));
}

function sweepTable(results: FilteringExperimentResults): string {
  const sweep = Object.values(results.runs).filter((r) => r.series === 'sweep')
    .sort((a, b) => a.mode.localeCompare(b.mode) || (b.filter?.fraction ?? 0) - (a.filter?.fraction ?? 0));
  if (sweep.length === 0) return '';
  const b = baselineOf(results, sweep[0]);
  return `Flagged-fraction sweep at ${sizeName(sweep[0].size)}\n` +
    align(['mode', 'target', 'filtered', 'forget recall', 'forget precision', 'medical', 'biology', 'general', 'Δ medical', 'Δ biology'], sweep.map((r) => [
      r.mode, `${(100 * (r.filter?.fraction ?? 0)).toFixed(1)}%`, `${(100 * r.flaggedFraction).toFixed(1)}%`,
      r.filterStats?.forget ? r.filterStats.forget.recall.toFixed(3) : '', r.filterStats?.forget ? r.filterStats.forget.precision.toFixed(3) : '',
      r.loss.medical.toFixed(4), r.loss.biology.toFixed(4), r.loss.general.toFixed(4),
      b ? signed(r.loss.medical - b.loss.medical) : '', b ? signed(r.loss.biology - b.loss.biology) : '',
    ]));
}

function noiseTable(results: FilteringExperimentResults): string {
  const noise = Object.values(results.runs).filter((r) => r.series === 'noise').sort((a, b) => (a.filter?.noise ?? 0) - (b.filter?.noise ?? 0));
  if (noise.length === 0) return '';
  const b = baselineOf(results, noise[0]);
  const slowdown = medicalSlowdowns(results);
  return `Label noise at ${sizeName(noise[0].size)} (${noise[0].mode}; a share of the flags moved off and as many on, so the flagged share stays fixed)\n` +
    align(['mode', 'moved', 'flag error', 'filtered', 'medical', 'biology', 'Δ medical', 'Δ biology', 'slowdown'], noise.map((r) => {
      const s = slowdown.get(r.id);
      return [
        r.mode, (r.filter?.noise ?? 0).toFixed(3), r.flagErrorRate === null ? '' : r.flagErrorRate.toFixed(3), `${(100 * r.flaggedFraction).toFixed(1)}%`,
        r.loss.medical.toFixed(4), r.loss.biology.toFixed(4), b ? signed(r.loss.medical - b.loss.medical) : '', b ? signed(r.loss.biology - b.loss.biology) : '',
        s?.slowdown != null ? `${s.slowdown.toPrecision(3)}×` : 'n/a',
      ];
    }));
}

function rmuTable(results: FilteringExperimentResults): string {
  const rmu = results.extra.rmu as { of: string; layer: number; blocks: number[]; steps: number; loss: Record<string, number> } | undefined;
  if (!rmu) return '';
  const b = results.runs[rmu.of];
  return `RMU on ${rmu.of}: steered layer ${rmu.layer}, MLPs of blocks ${rmu.blocks.join(', ')} updated, ${rmu.steps} steps\n` +
    align(['model', ...FORGET_FIRST, ...FORGET_FIRST.map((d) => `Δ ${d}`)], [[
      'rmu', ...FORGET_FIRST.map((d) => rmu.loss[d].toFixed(4)), ...FORGET_FIRST.map((d) => (b ? signed(rmu.loss[d] - b.loss[d]) : '')),
    ]]);
}

/**
 * The attacks: the rate each one won and what it reached, then every rate of each sweep; the
 * attacks whose winning rate is the highest tried are named (a higher rate might be faster still).
 */
export function attackTables(results: Pick<FilteringExperimentResults, 'extra'>): string {
  const attacks = Object.values((results.extra.attacks ?? {}) as Record<string, AttackRecord>);
  if (attacks.length === 0) return '';
  const rates = [...new Set(attacks.flatMap((a) => a.sweep.map((s) => s.lr)))].sort((x, y) => x - y);
  const cell = (a: AttackRecord, lr: number) => {
    const s = a.sweep.find((r) => r.lr === lr);
    if (!s) return '';
    const text = s.diverged ? 'diverged' : s.reached && s.tokensToTarget !== null ? `${Math.round(s.tokensToTarget)} tok` : s.finalLoss === null ? '' : `loss ${s.finalLoss.toFixed(3)}`;
    return `${text}${lr === a.lr ? ' *' : ''}`;
  };
  const atTop = attacks.filter((a) => a.sweep.length > 1 && a.lr === Math.max(...a.sweep.map((s) => s.lr))).map((a) => a.model);
  return [
    "Adversarial fine-tuning on medical text until the baseline's medical loss (constant LR, the winner of the sweep below)",
    align(['model', 'won lr', 'start loss', 'target', 'reached', 'tokens to target', '% of pretraining', 'budget'], attacks.map((a) => [
      a.model, String(a.lr), a.startLoss.toFixed(4), a.targetLoss.toFixed(4), a.reached ? 'yes' : 'no',
      a.tokensToTarget === null ? `> ${a.budgetTokens}` : String(Math.round(a.tokensToTarget)),
      a.fractionOfPretraining === null ? '' : `${(100 * a.fractionOfPretraining).toFixed(2)}%`, String(a.budgetTokens),
    ])),
    '',
    'Learning-rate sweep of each attack (on part of the budget: tokens to the target, else the final loss; * = the rate kept)',
    align(['model', ...rates.map((lr) => `lr ${lr}`)], attacks.map((a) => [a.model, ...rates.map((lr) => cell(a, lr))]), 1),
    atTop.length > 0
      ? `Won at the highest rate tried (a higher one might recover faster): ${atTop.join(', ')}`
      : 'Every attack won below the highest rate tried.',
  ].join('\n');
}

function mcqTable(results: FilteringExperimentResults): string {
  const mcq = results.extra.mcq as Record<string, McqSummary> | undefined;
  if (!mcq || Object.keys(mcq).length === 0) return '';
  const rows: string[][] = [];
  for (const [id, m] of Object.entries(mcq))
    for (const [format, norm] of [['cloze', 'raw'], ['cloze', 'char'], ['letter', 'raw']]) {
      const byDomain = m[format]?.scores[norm];
      if (!byDomain) continue;
      rows.push([id, `${format}/${norm}`, ...DOMAINS.flatMap((d) => [byDomain[d] ? byDomain[d].accuracy.toFixed(3) : '', byDomain[d] ? byDomain[d].meanMargin.toFixed(3) : ''])]);
    }
  return 'Multiple choice (accuracy; chance 0.25; margin = mean log-prob of the correct answer minus the best wrong one)\n' +
    align(['model', 'format', ...DOMAINS.flatMap((d) => [`${d} acc`, `${d} margin`])], rows);
}

function baselineOf(results: FilteringExperimentResults, r: ExperimentRun): ExperimentRun | undefined {
  return results.runs[`baseline-${sizeName(r.size)}-s${r.seed}`];
}

function medicalSlowdowns(results: FilteringExperimentResults) {
  return new Map(results.slowdowns.filter((s) => (s.domain ?? 'medical') === 'medical').map((s) => [s.id, s]));
}

function mixedDomainsOf(runs: ExperimentRun[]): string[] {
  return runs.some((r) => r.loss.mixed_medical !== undefined) ? ['mixed_medical', 'mixed_retain'] : [];
}

function bySizeThenMode(a: ExperimentRun, b: ExperimentRun): number {
  const order = ['baseline', 'document', 'mask', 'remove'];
  return a.nonEmbeddingParams - b.nonEmbeddingParams || a.seed - b.seed || order.indexOf(a.mode) - order.indexOf(b.mode);
}

/** Columns padded to one width; the first `left` are left-aligned, the rest right-aligned. */
function align(header: string[], rows: string[][], left = 3): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < left ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
}

function compact(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}
