/**
 * Where the experiment's forget scores come from: a token classifier (its biLM's tokenizer is
 * used throughout; the training stream is scored once and cached as a side file) or the
 * documents' own domains (a tokenizer given or trained on the corpus).
 * @module
 */
import { join } from 'node:path';
import { TokenClassifier } from '../classify/token_classifier.js';
import { scoreShards } from '../classify/score_shards.js';
import { DOMAINS, FORGET_LABEL } from '../data/domains.js';
import { SideFileKind, readSideFile, sideFilePathFor, sideFileScores } from '../data/side_file.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { corpusTokenizer, domainTrainTexts } from '../stages/tokenize.js';
import type { ResolvedOptions } from './experiment_options.js';
import type { FilteringExperimentResults, ValidationF1 } from './experiment_results.js';

/** The classifier's tokenizer, or (domain labels) the given one, or one trained on the corpus (tokenize stage). */
export async function experimentTokenizer(o: ResolvedOptions, results: FilteringExperimentResults): Promise<{ tokenizer: Tokenizer; classifier: TokenClassifier | null }> {
  if (o.labels === 'classifier') {
    const classifier = await TokenClassifier.load(o.classifier!);
    results.classifier = { path: o.classifier!, threshold: classifier.threshold, layer: classifier.layer, validation: validationF1(classifier.report) };
    return { tokenizer: classifier.bilm.tokenizer, classifier };
  }
  const tokenizer = await corpusTokenizer({
    path: o.tokenizer ?? join(o.out, 'tokenizer.json'), texts: () => domainTrainTexts(o.data, DOMAINS, o.signal), vocabSize: o.vocabSize, signal: o.signal,
  });
  return { tokenizer, classifier: null };
}

/** Scores of the training stream: the classifier's (scored once, cached as a side file) or the domain oracle's. */
export async function forgetScores(
  o: ResolvedOptions,
  classifier: TokenClassifier | null,
  train: string,
  labels: Uint8Array,
  log: (line: string) => void,
): Promise<Float32Array> {
  if (!classifier) return Float32Array.from(labels, (l) => (l === FORGET_LABEL ? 1 : 0));
  const scoresDir = join(o.out, 'scores');
  await scoreShards({
    shards: [train], classifier: o.classifier!, out: scoresDir, signal: o.signal,
    onProgress: (p) => {
      if (p.skipped) log('scores: already computed');
      else if (p.tokens === p.shardTokens || p.tokens % 1_000_000 < 20_000) log(`scores: ${p.tokens} of ${p.shardTokens} tokens`);
    },
  });
  const side = readSideFile(sideFilePathFor(join(scoresDir, 'train.bin'), SideFileKind.ScoresUint8), { expectTokens: labels.length });
  return sideFileScores(side);
}

/**
 * The metrics per validation kind a token classifier file keeps from training (`report.chosen.kinds`,
 * TokenClassifier.train); empty for a file without them.
 */
export function validationF1(report: unknown): ValidationF1[] {
  const kinds = (report as { chosen?: { kinds?: unknown } } | null)?.chosen?.kinds;
  if (!Array.isArray(kinds)) return [];
  return kinds
    .filter((k): k is ValidationF1 => k !== null && typeof k === 'object' && typeof k.name === 'string' && [k.precision, k.recall, k.f1].every((v) => typeof v === 'number'))
    .map((k) => ({ name: k.name, precision: k.precision, recall: k.recall, f1: k.f1 }));
}
