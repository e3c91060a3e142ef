/**
 * Keep-then-steer against filtering (issue 18, item 5), at the mixture study's size and training
 * tokens. The starting point is the study's *unfiltered* model at one medical share (default: the
 * share with the best mean alignability); from the same data, seed and steps:
 *
 * - **remove**: the filtering experiment's token-removal model: the medical tokens of the training
 *   stream flagged (domain labels, as the filtering experiment's `labels: 'domain'`), turned into
 *   `<|hidden|>` and masked by `filterTokens` (mode 'remove'), the model trained on exactly the
 *   batches the unfiltered model saw;
 * - **steered**: the unfiltered model with ITI at its alignability point (K, α);
 * - **rmu**: RMU applied to the unfiltered model (the "0%-filtered baseline" of the filtering
 *   experiment's attack stage);
 * - **absent**: the study's 0% model (medicine never collected), when the ladder has it.
 *
 * For each: the medical loss rise and the general / biology loss rises over the unfiltered model,
 * and the adversarial fine-tuning tokens (on medical training text) needed to bring the medical
 * loss back to the unfiltered model's (the filtering experiment's `runAttacks`: RMU, a
 * learning-rate sweep, then the attack; the steered model keeps its steering on at every
 * evaluation). Every piece is recorded in `results.comparison` as it finishes and skipped when
 * rerun.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeFolder } from '../../data/output_path.js';
import { readShard, writeShard } from '../../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../data/side_file.js';
import type { Tokenizer } from '../../data/tokenizer.js';
import { domainLosses, type LabelledTokens } from '../../eval/domain_loss.js';
import { TokenfilterError } from '../../errors.js';
import { filterTokens } from '../../filter/filter_tokens.js';
import { Transformer } from '../../model/transformer.js';
import { setSteering, type HeadIntervention } from '../../steer/steering.js';
import { runAttacks, type AttackRecord } from '../attack_stage.js';
import type { MixtureCorpus } from './mixture_corpus.js';
import { measureSeparability } from './separability.js';
import { itiSteering, type DomainLossTable } from './steering_sweep.js';
import { trainShare, type MixtureResults, type ResolvedMixtureOptions } from './run_mixture.js';
import { DOMAINS, FORGET_LABEL, UNLABELLED } from '../../data/domains.js';

/** Settings of the comparison; defaults in {@link COMPARISON_DEFAULTS}. */
export interface ComparisonSettings {
  /** Medical share of the unfiltered (and steered) model; default: the best mean alignability. */
  share?: number;
  /** RMU steps on the unfiltered model. */
  rmuSteps?: number;
  /** Attack token budget, as a fraction of the pretraining tokens. */
  attackBudget?: number;
  /** Constant learning rates each attack sweeps (the fastest is kept). */
  attackLrs?: number[];
  /** Rows per attack step (× the context = batch tokens). */
  attackBatch?: number;
  /** Attack steps between evaluations. */
  attackEvalEvery?: number;
}

/** Defaults of {@link ComparisonSettings}. */
export const COMPARISON_DEFAULTS = Object.freeze({
  rmuSteps: 400,
  attackBudget: 0.15,
  attackLrs: [3e-4, 1e-3, 3e-3, 1e-2],
  attackBatch: 8,
  attackEvalEvery: 20,
});

/**
 * Checks comparison settings (`true`/`false` or an object of known keys with values in range).
 * @throws TokenfilterError E_OPTION naming the value.
 */
export function checkComparisonSettings(compare: unknown): void {
  if (typeof compare === 'boolean') return;
  if (compare === null || typeof compare !== 'object') throw new TokenfilterError('E_OPTION', 'compare must be a boolean or an object of comparison settings');
  const c = compare as Record<string, unknown>;
  const known = new Set(['share', ...Object.keys(COMPARISON_DEFAULTS)]);
  for (const key of Object.keys(c)) if (!known.has(key)) throw new TokenfilterError('E_OPTION', `unknown comparison setting '${key}'`);
  const bad = (name: string, value: unknown, range: string) => new TokenfilterError('E_OPTION', `comparison ${name} = ${String(value)} must be ${range}`);
  if (c.share !== undefined && !(typeof c.share === 'number' && c.share > 0 && c.share < 1)) throw bad('share', c.share, 'in (0, 1)');
  for (const name of ['rmuSteps', 'attackBatch', 'attackEvalEvery'])
    if (c[name] !== undefined && !(Number.isInteger(c[name]) && (c[name] as number) >= 1)) throw bad(name, c[name], 'a positive integer');
  if (c.attackBudget !== undefined && !(typeof c.attackBudget === 'number' && c.attackBudget > 0 && c.attackBudget <= 10))
    throw bad('attackBudget', c.attackBudget, 'in (0, 10]');
  if (c.attackLrs !== undefined && !(Array.isArray(c.attackLrs) && c.attackLrs.length > 0 && c.attackLrs.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x))))
    throw bad('attackLrs', c.attackLrs, 'a non-empty list of learning rates > 0');
}

/** One defence of one seed: its held-out losses and their rise over the unfiltered model. */
export interface DefenceRecord {
  loss: DomainLossTable;
  rise: DomainLossTable;
  modelPath: string;
}

/** Everything compared at one seed. */
export interface SeedComparison {
  seed: number;
  /** The unfiltered model's run id and losses (the reference of every rise and the attack target). */
  reference: { id: string; loss: DomainLossTable };
  remove?: DefenceRecord & { flaggedFraction: number; supervisedTokens: number; trainTokens: number };
  steered?: DefenceRecord & { k: number; alpha: number; heads: { layer: number; head: number; vector: number[] }[] };
  absent?: DefenceRecord & { id: string };
  rmu?: Record<string, unknown>;
  /** Attacks by defence name (remove, steered, absent, rmu). */
  attacks: Record<string, AttackRecord>;
}

/** `results.comparison`. */
export interface FilteringComparison {
  share: number;
  settings: Required<Omit<ComparisonSettings, 'share'>>;
  seeds: Record<string, SeedComparison>;
}

/** `settings` over {@link COMPARISON_DEFAULTS}, without the share. */
export function resolveComparisonSettings(settings: ComparisonSettings): FilteringComparison['settings'] {
  return {
    ...COMPARISON_DEFAULTS,
    ...Object.fromEntries(Object.entries(settings).filter(([k, v]) => v !== undefined && k !== 'share')),
  } as FilteringComparison['settings'];
}

/**
 * Refuses to continue a comparison whose finished seeds were attacked or unlearnt with other
 * settings than `settings` (RMU steps, attack budget, rates, batch, evaluation interval). Another
 * share is allowed: the comparison then starts over.
 * @throws TokenfilterError E_OPTION naming each setting that differs, with both values.
 */
export function checkComparisonResumable(results: MixtureResults, settings: ComparisonSettings, out: string): void {
  const recorded = results.comparison;
  if (!recorded || Object.keys(recorded.seeds).length === 0) return;
  if (settings.share !== undefined && settings.share !== recorded.share) return;
  const now = resolveComparisonSettings(settings) as Record<string, unknown>;
  const was = recorded.settings as Record<string, unknown>;
  const text = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
  const differ = Object.keys(now).filter((k) => was[k] !== undefined && text(was[k]) !== text(now[k]));
  if (differ.length > 0)
    throw new TokenfilterError('E_OPTION', `${out} holds a comparison made with ${differ.map((k) => `${k} ${text(was[k])}`).join(', ')}; ` +
      `this run asks for ${differ.map((k) => `${k} ${text(now[k])}`).join(', ')} (use another --out, or the same settings)`, { path: join(out, 'results.json') });
}

/** The share (> 0) with the best mean alignability over its seeds. */
export function bestSteeredShare(results: MixtureResults): number {
  const byShare = new Map<number, number[]>();
  for (const run of Object.values(results.runs))
    if (run.share > 0) byShare.set(run.share, [...(byShare.get(run.share) ?? []), run.alignability.medicalRise]);
  let best: [number, number] | null = null;
  for (const [share, rises] of byShare) {
    const mean = rises.reduce((a, b) => a + b, 0) / rises.length;
    if (best === null || mean > best[1]) best = [share, mean];
  }
  if (best === null) throw new TokenfilterError('E_OPTION', 'the comparison with filtering needs a finished run at a medical share above 0');
  return best[0];
}

function runId(share: number, seed: number): string {
  return `share-${+(share * 100).toFixed(2)}-seed-${seed}`;
}

async function lossTable(model: Transformer, val: LabelledTokens): Promise<DomainLossTable> {
  const losses = await domainLosses(model, val, { labelNames: [...DOMAINS], bootstrap: 0 });
  return Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.loss]));
}

const riseOver = (loss: DomainLossTable, base: DomainLossTable) => Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v - base[k]]));

/**
 * The medical training shard with every medical token removed by `filterTokens` (mode 'remove',
 * domain labels as scores), and its loss mask; written once into `dir`.
 */
async function removalShard(corpus: MixtureCorpus, tokenizer: Tokenizer, dir: string): Promise<{ path: string; flaggedFraction: number }> {
  const path = join(dir, 'train-medical.removed.bin');
  const { tokens } = readShard(corpus.trainShards.medical);
  const labels = Uint8Array.from(tokens, (t) => (t === tokenizer.eotId ? UNLABELLED : FORGET_LABEL));
  const scores = Float32Array.from(labels, (l) => (l === FORGET_LABEL ? 1 : 0));
  const filtered = filterTokens(Uint32Array.from(tokens), scores, {
    mode: 'remove', threshold: 0.5, eotId: tokenizer.eotId, hiddenId: tokenizer.hiddenId,
    labels, labelNames: [...DOMAINS], forgetLabel: FORGET_LABEL,
  });
  if (!existsSync(path)) {
    await makeFolder(dir);
    await writeSideFile(sideFilePathFor(path, SideFileKind.LossMask), filtered.lossMask, { kind: SideFileKind.LossMask, tokenizer });
    await writeShard(path, filtered.tokens, { tokenizer });
  }
  return { path, flaggedFraction: filtered.stats.flaggedFraction };
}

/** The training streams of every domain, labelled (separators UNLABELLED), for the attacker's and RMU's shards. */
function trainStream(corpus: MixtureCorpus, eotId: number): LabelledTokens {
  const parts = DOMAINS.map((d, label) => {
    const { tokens } = readShard(corpus.trainShards[d]);
    return { tokens, labels: Uint8Array.from(tokens, (t) => (t === eotId ? UNLABELLED : label)) };
  });
  const tokens = new Uint32Array(parts.reduce((n, p) => n + p.tokens.length, 0));
  const labels = new Uint8Array(tokens.length);
  let at = 0;
  for (const p of parts) {
    tokens.set(p.tokens, at);
    labels.set(p.labels, at);
    at += p.tokens.length;
  }
  return { tokens, labels };
}

/** Trains (or resumes) and measures the token-removal model of one seed. */
async function removalModel(o: ResolvedMixtureOptions, corpus: MixtureCorpus, tokenizer: Tokenizer, share: number, seed: number, reference: DomainLossTable) {
  const { path, flaggedFraction } = await removalShard(corpus, tokenizer, join(o.out, 'comparison', 'data'));
  const id = `remove-${runId(share, seed)}`;
  o.onLog?.(`comparison: ${id}: training on the same batches with the medical tokens removed`);
  const { model, summary, modelPath } = await trainShare(o, corpus, tokenizer, share, seed, id, { medical: path });
  const loss = await lossTable(model, corpus.val);
  return { loss, rise: riseOver(loss, reference), modelPath, flaggedFraction, supervisedTokens: summary.supervisedTokens, trainTokens: summary.tokens };
}

/** The unfiltered model under ITI at its alignability point: losses, and the head vectors kept for the attack. */
async function steeredModel(o: ResolvedMixtureOptions, corpus: MixtureCorpus, results: MixtureResults, id: string) {
  const run = results.runs[id];
  const model = await Transformer.load(run.modelPath);
  const separability = await measureSeparability(model, corpus.probe, { signal: o.signal });
  const k = Math.max(1, run.alignability.k);
  const steering = itiSteering(separability, k, run.alignability.alpha);
  setSteering(model, steering);
  let loss: DomainLossTable;
  try {
    loss = await lossTable(model, corpus.val);
  } finally {
    setSteering(model, null);
  }
  const heads = steering.heads!.map((h: HeadIntervention) => ({ layer: h.layer, head: h.head, vector: Array.from(h.vector) }));
  return { loss, rise: riseOver(loss, run.loss), modelPath: run.modelPath, k, alpha: run.alignability.alpha, heads };
}

/**
 * Runs (or continues) the comparison for every seed of the study and records it in
 * `results.comparison`, calling `save` after each finished piece.
 * @throws TokenfilterError E_OPTION when the share has no finished run for a seed.
 */
export async function runFilteringComparison(
  o: ResolvedMixtureOptions, results: MixtureResults, corpus: MixtureCorpus, tokenizer: Tokenizer,
  settings: ComparisonSettings, save: () => Promise<void>,
): Promise<FilteringComparison> {
  const share = settings.share ?? bestSteeredShare(results);
  const resolved = resolveComparisonSettings(settings);
  if (results.comparison && results.comparison.share !== share) results.comparison = undefined; // another share: start over
  const comparison: FilteringComparison = (results.comparison ??= { share, settings: resolved, seeds: {} });
  comparison.settings = resolved;
  for (const seed of o.seeds) {
    const id = runId(share, seed);
    const run = results.runs[id];
    if (!run) throw new TokenfilterError('E_OPTION', `the comparison share ${+(share * 100).toFixed(2)}% has no finished run for seed ${seed} (add it to --shares)`);
    const rec: SeedComparison = (comparison.seeds[seed] ??= { seed, reference: { id, loss: run.loss }, attacks: {} });
    if (!rec.remove) {
      rec.remove = await removalModel(o, corpus, tokenizer, share, seed, run.loss);
      await save();
    }
    if (!rec.steered) {
      o.onLog?.(`comparison: ${id}: ITI at K ${run.alignability.k}, α ${run.alignability.alpha.toFixed(2)}`);
      rec.steered = await steeredModel(o, corpus, results, id);
      await save();
    }
    const absentRun = results.runs[runId(0, seed)];
    if (absentRun && !rec.absent) {
      rec.absent = { id: absentRun.id, loss: absentRun.loss, rise: riseOver(absentRun.loss, run.loss), modelPath: absentRun.modelPath };
      await save();
    }
    const targets = [
      { id: 'remove', modelPath: rec.remove.modelPath },
      { id: 'steered', modelPath: rec.steered.modelPath, steering: { heads: rec.steered.heads } },
      ...(rec.absent ? [{ id: 'absent', modelPath: rec.absent.modelPath }] : []),
    ];
    const done = { attacks: rec.attacks, rmu: rec.rmu };
    await runAttacks(join(o.out, 'comparison', `attack-seed-${seed}`), tokenizer, { id, modelPath: run.modelPath, trainTokens: run.trainTokens }, targets,
      trainStream(corpus, tokenizer.eotId), corpus.val, {
        batch: resolved.attackBatch, budgetFraction: resolved.attackBudget, sweepFraction: 0.25, lrs: resolved.attackLrs,
        evalEvery: resolved.attackEvalEvery, rmuSteps: resolved.rmuSteps, seed, signal: o.signal, log: (line) => o.onLog?.(`comparison seed ${seed}: ${line}`),
      }, done, async () => {
        rec.attacks = done.attacks;
        rec.rmu = done.rmu;
        await save();
      });
  }
  return comparison;
}
