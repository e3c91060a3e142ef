/**
 * The experiment's multiple-choice stage: every ladder model of the largest size answers the
 * same sample of questions per domain (cloze, and letter when ` A` … ` D` are single tokens); results go to
 * `results.extra.mcq[runId]`, in a compact form (per format and normalisation: accuracy, mean
 * log-probability of the correct answer and mean margin, by domain, with the chance level).
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../data/tokenizer.js';
import { letterTokenIds, scoreMcq, type McqResult } from '../eval/mcq.js';
import { readMcq, type McqQuestion } from '../eval/mcq_questions.js';
import { Transformer } from '../model/transformer.js';
import type { ExperimentContext } from './experiment_context.js';
import type { ExperimentRun } from './experiment_results.js';
import { sizeName } from './model_size.js';
import { CodedRangeError } from '../errors.js';
import { DOMAINS } from '../data/domains.js';

/** One model's multiple-choice scores: format → normalisation → domain → numbers. */
export type McqSummary = Record<string, {
  truncated: number;
  skipped: number;
  scores: Record<string, Record<string, { questions: number; accuracy: number; chance: number; meanCorrectLogProb: number; meanMargin: number }>>;
}>;

/** Reads `perDomain` questions of each experiment domain (seeded sample). */
export async function sampleMcq(path: string, perDomain: number, seed: number, signal?: AbortSignal): Promise<McqQuestion[]> {
  if (!existsSync(path)) throw new CodedRangeError(`multiple-choice questions not found at ${path}`);
  const out: McqQuestion[] = [];
  for (const domain of DOMAINS) out.push(...(await readMcq(path, { domains: [domain], limit: perDomain, seed, signal })));
  return out;
}

/** Scores the model of `run` on `questions` in both formats and returns the compact summary. */
export async function mcqForRun(run: ExperimentRun, tokenizer: Tokenizer, questions: McqQuestion[], signal?: AbortSignal): Promise<McqSummary> {
  const model = await Transformer.load(run.modelPath);
  // the letter format needs ' A' … ' D' to be single tokens; small tokenizers may split them
  let format: 'both' | 'cloze' = 'both';
  try {
    letterTokenIds(tokenizer, 4);
  } catch {
    format = 'cloze';
  }
  const result: McqResult = await scoreMcq(model, tokenizer, questions, { format, signal });
  const summary: McqSummary = {};
  for (const [format, r] of Object.entries(result.formats)) {
    if (!r) continue;
    const scores: McqSummary[string]['scores'] = {};
    for (const [norm, breakdown] of Object.entries(r.normalisations)) {
      if (!breakdown) continue;
      scores[norm] = Object.fromEntries(Object.entries(breakdown.byDomain).map(([d, g]) => [d, {
        questions: g.questions, accuracy: g.accuracy, chance: g.chance, meanCorrectLogProb: g.meanCorrectLogProb, meanMargin: g.meanMargin,
      }]));
    }
    summary[format] = { truncated: r.truncated, skipped: r.skipped, scores };
  }
  return summary;
}

/** Multiple choice for every ladder model of the largest size (when the data folder has questions); each summary is saved as it is done. */
export async function runMcqStage(x: ExperimentContext): Promise<void> {
  const { o, results } = x;
  const mcqPath = o.mcq ?? join(o.data, 'eval', 'mcq.jsonl.gz');
  if (o.mcqPerDomain === 0 || !existsSync(mcqPath)) return;
  const largest = sizeName(o.sizes[o.sizes.length - 1]);
  const mcq = (results.extra.mcq ??= {}) as Record<string, McqSummary>;
  const todo = Object.values(results.runs).filter((r) => r.series === 'ladder' && sizeName(r.size) === largest && !mcq[r.id]);
  if (todo.length === 0) return;
  const questions = await sampleMcq(mcqPath, o.mcqPerDomain, o.seeds[0], o.signal);
  for (const run of todo) {
    mcq[run.id] = await mcqForRun(run, x.tokenizer, questions, o.signal);
    await x.save();
    x.log(`mcq ${run.id}: cloze accuracy ${DOMAINS.map((d) => `${d} ${mcq[run.id].cloze?.scores.raw?.[d]?.accuracy.toFixed(3)}`).join(', ')}`);
  }
}
