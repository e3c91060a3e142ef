/**
 * The report of keep-then-steer against filtering (`results.comparison`): one table (medical and
 * retain loss rises over the unfiltered model, attack tokens to bring medicine back, mean ± half
 * the seed range), the trade-off picture (medical rise against general cost, per defence and seed)
 * and the attacks' recovery curves.
 * @module
 */
import type { AttackRecord } from '../attack_stage.js';
import { chartSvg, type ChartSeries } from '../svg_chart.js';
import type { FilteringComparison, SeedComparison } from './filtering_comparison.js';
import { meanSpread } from './mixture_report.js';
import { FORGET_FIRST } from '../../data/domains.js';

/** The defences in table order, with how each is described. */
const DEFENCES = [
  ['remove', 'token removal (filtering)'],
  ['steered', 'keep, then ITI'],
  ['rmu', 'RMU on the unfiltered model'],
  ['absent', '0% share (never collected)'],
] as const;

type Defence = (typeof DEFENCES)[number][0];

const COLORS: Record<Defence, string> = { remove: '#d95f02', steered: '#1b9e77', rmu: '#7570b3', absent: '#666666' };

/** A defence's held-out losses at one seed, or null when it was not run. */
function lossOf(rec: SeedComparison, defence: Defence): Record<string, number> | null {
  if (defence === 'rmu') return (rec.rmu?.loss as Record<string, number> | undefined) ?? null;
  return rec[defence]?.loss ?? null;
}

/** A defence's loss rise over the unfiltered model at one seed, or null. */
export function riseOf(rec: SeedComparison, defence: Defence): Record<string, number> | null {
  const loss = lossOf(rec, defence);
  return loss && Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v - rec.reference.loss[k]]));
}

function attackCell(attacks: (AttackRecord | undefined)[]): string {
  const done = attacks.filter((a): a is AttackRecord => a !== undefined);
  if (done.length === 0) return '–';
  const reached = done.filter((a) => a.reached);
  const tokens = reached.map((a) => a.tokensToTarget! / 1000);
  const fractions = reached.map((a) => 100 * (a.fractionOfPretraining ?? 0));
  const head = reached.length > 0 ? `${meanSpread(tokens, 1)}k (${meanSpread(fractions, 2)}% of pretraining)` : 'not reached';
  const missed = done.length - reached.length;
  return missed > 0 && reached.length > 0 ? `${head}; ${missed} of ${done.length} seeds not within ${done[0].budgetTokens} tokens` : missed > 0 ? `not within ${done[0].budgetTokens} tokens (loss ${meanSpread(done.map((a) => a.finalLoss))} vs target ${meanSpread(done.map((a) => a.targetLoss))})` : head;
}

/** A learning rate as people write it: 3e-4, 2.5e-3, 1. */
const rate = (lr: number) => lr.toExponential().replace(/e\+0$/, '').replace('e+', 'e');

/**
 * The learning rate each seed's attack used (the sweep's fastest), e.g. `3e-3 / 1e-2`; marked
 * when a seed's winner is the largest rate swept, since a larger one might have been faster still.
 */
export function rateCell(attacks: (AttackRecord | undefined)[], swept: readonly number[]): string {
  const done = attacks.filter((a): a is AttackRecord => a !== undefined);
  if (done.length === 0) return '–';
  const top = Math.max(...swept);
  const atTop = done.filter((a) => a.lr === top).length;
  const rates = done.map((a) => rate(a.lr)).join(' / ');
  return atTop === 0 ? rates : `${rates} (${atTop === done.length ? 'top' : `${atTop} of ${done.length} at the top`} of the grid)`;
}

/** The Markdown table of the comparison. */
export function comparisonTable(comparison: FilteringComparison): string {
  const seeds = Object.values(comparison.seeds);
  const pct = `${+(comparison.share * 100).toFixed(2)}%`;
  const lines = [
    `Unfiltered model: medical share ${pct}, ${seeds.length} seed(s); medical loss ${meanSpread(seeds.map((s) => s.reference.loss.medical))}, ` +
      `biology ${meanSpread(seeds.map((s) => s.reference.loss.biology))}, general ${meanSpread(seeds.map((s) => s.reference.loss.general))}. ` +
      'Rises are over it; the attack fine-tunes on medical text until the medical loss is back at its level, ' +
      `at the fastest of the rates ${comparison.settings.attackLrs.map(rate).join(', ')} (per seed in the last column).`,
    '',
    '| defence | medical rise | biology rise | general rise | attack tokens to bring medicine back | attack rate |',
    '|---|---|---|---|---|---|',
  ];
  for (const [defence, name] of DEFENCES) {
    const rises = seeds.map((s) => riseOf(s, defence)).filter((r): r is Record<string, number> => r !== null);
    if (rises.length === 0) continue;
    let label: string = name;
    if (defence === 'steered') label += ` (K ${seeds.map((s) => s.steered?.k).join('/')}, α ${seeds.map((s) => s.steered?.alpha.toFixed(1)).join('/')})`;
    const cells = FORGET_FIRST.map((d) => meanSpread(rises.map((r) => r[d])));
    const attacks = seeds.map((s) => s.attacks[defence]);
    lines.push(`| ${label} | ${cells.join(' | ')} | ${attackCell(attacks)} | ${rateCell(attacks, comparison.settings.attackLrs)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Medical rise against general cost, one point per defence and seed. */
export function comparisonSvg(comparison: FilteringComparison): string {
  const series = DEFENCES.map(([defence, name]) => ({
    name, color: COLORS[defence],
    points: Object.values(comparison.seeds).flatMap((s) => {
      const r = riseOf(s, defence);
      return r ? [{ x: r.general, y: r.medical, label: `seed ${s.seed}: biology ${r.biology.toFixed(3)}` }] : [];
    }),
  })).filter((s) => s.points.length > 0);
  return chartSvg({ title: 'Against filtering: medical loss rise against its general-loss cost', xLabel: 'general loss rise (nats)', yLabel: 'medical loss rise (nats)', series });
}

/** The attacks' recovery curves (medical loss against fine-tuning tokens), first seed. */
export function attackCurvesSvg(comparison: FilteringComparison): string {
  const first = Object.values(comparison.seeds)[0];
  const series: ChartSeries[] = DEFENCES.filter(([d]) => first?.attacks[d]).map(([defence, name]) => ({
    name, color: COLORS[defence], line: true,
    points: first.attacks[defence].curve.map((p) => ({ x: p.tokens, y: p.loss, label: `${p.tokens} tokens` })),
  }));
  const target = first ? Object.values(first.attacks)[0]?.targetLoss : undefined;
  if (target !== undefined && series.length > 0) {
    const xs = series.flatMap((s) => s.points.map((p) => p.x));
    series.push({ name: 'unfiltered model', color: '#000000', line: true, points: [{ x: Math.min(...xs), y: target, label: 'target' }, { x: Math.max(...xs), y: target, label: 'target' }] });
  }
  return chartSvg({ title: `Fine-tuning on medical text (seed ${first?.seed ?? '–'}): medical loss`, xLabel: 'fine-tuning tokens', yLabel: 'medical loss (nats)', series });
}
