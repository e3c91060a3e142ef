/**
 * `tokenfilter eval-classifier --classifier C (--spans FILES... | --sentence-mixes DIR | --documents FILES...)`:
 * precision, recall and F1 of a token classifier against character spans (token level), or of a
 * document classifier against document domains, at a threshold and at the max-F1 threshold.
 * A token classifier is evaluated on each kind of text given, separately: every spans file
 * (e.g. spliced.val's paragraph mixes) and, with `--sentence-mixes DIR`, sentence-level mixes
 * built from DIR/corpus/*.val.jsonl.gz (sentence_mixes.ts; `--mix-count`, `--mix-seed`).
 * `--smoothing R` / `--segmentation C[,S[,L[,B]]]` score with another method than the one saved,
 * `--reading window|sentence` read documents another way than the saved reading; for a classifier
 * with a lexicon (lexicon.ts), `--no-lexicon` scores with the probe alone and `--probe-weight X`
 * with another share of the probe's logit beside the lexicon's evidence.
 * @module
 */
import type { Command } from 'commander';
import { DocumentClassifier } from '../classify/document_classifier.js';
import { basename } from 'node:path';
import { evaluateDocumentClassifier, evaluateTokenClassifier, evaluateTokenClassifierOn, type Evaluation } from '../classify/evaluate.js';
import { Random } from '../data/random.js';
import { describeScoreMethod, parseSegmentationOption, type ScoreMethod } from '../classify/score_method.js';
import { sentenceMixesOf } from '../classify/sentence_mixes.js';
import { TokenClassifier } from '../classify/token_classifier.js';
import { readSplitByDomain } from '../data/corpus_layout.js';
import { readSafetensors } from '../model/safetensors.js';
import { READINGS, type Reading } from '../classify/reading.js';
import { readingOption } from './train_classifier.js';
import { UsageError, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter eval-classifier`, as the CLI parses them. */
export interface EvalClassifierCommandOptions {
  classifier: string;
  spans?: string[];
  sentenceMixes?: string;
  mixCount: number;
  mixSeed: number;
  smoothing?: number;
  segmentation?: string;
  reading?: Reading;
  lexicon?: boolean;
  probeWeight?: number;
  documents?: string[];
  label: string;
  threshold?: number;
  limit?: number;
  maxTokens?: number;
  json?: boolean;
}

/** Runs `eval-classifier` and returns the evaluation. */
export async function evalClassifierCommand(options: EvalClassifierCommandOptions, io: CliIO): Promise<Evaluation> {
  let kind: string | undefined;
  try {
    kind = (await readSafetensors(options.classifier)).metadata.kind;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
      throw new UsageError(`--classifier ${options.classifier}: cannot read the file (${code})`, { cause: error, path: options.classifier });
    throw new UsageError((error as Error).message, { cause: error });
  }
  let result: Evaluation;
  const started = performance.now();
  const load = async <T>(f: () => Promise<T>) => {
    try {
      return await f();
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  };
  let kinds: (Evaluation & { name: string })[] | undefined;
  let scoring: string | undefined;
  let layers: readonly number[] | undefined;
  let reading: Reading | undefined;
  let lexicon: { probeWeight: number } | null | undefined;
  if (kind === 'token') {
    if (!options.spans?.length && !options.sentenceMixes)
      throw new UsageError('a token classifier is evaluated with --spans FILES... (records {text, spans}) and/or --sentence-mixes DIR');
    const classifier = await load(() => TokenClassifier.load(options.classifier)).then((c) => withOverride(c, options));
    scoring = describeScoreMethod(classifier.method);
    layers = classifier.layers;
    reading = classifier.reading;
    lexicon = classifier.lexicon ? { probeWeight: classifier.lexicon.probeWeight } : null;
    kinds = [];
    const evalOptions = { threshold: options.threshold, limit: options.limit };
    for (const file of options.spans ?? []) kinds.push({ name: basename(file), ...(await evaluateTokenClassifier(classifier, file, options.label, evalOptions)) });
    if (options.sentenceMixes) {
      const mixes = await load(() => sentenceMixesOfFolder(options.sentenceMixes!, options.label, options.mixCount, options.mixSeed));
      kinds.push({ name: 'sentence-mixes', ...(await evaluateTokenClassifierOn(classifier, mixes, options.label, evalOptions)) });
    }
    result = kinds[0];
  } else if (kind === 'document') {
    if (!options.documents?.length) throw new UsageError('a document classifier is evaluated with --documents FILES... (records {text, domain})');
    const classifier = await load(() => DocumentClassifier.load(options.classifier));
    result = await evaluateDocumentClassifier(classifier, options.documents, options.label, {
      threshold: options.threshold, limit: options.limit, maxTokens: options.maxTokens,
    });
  } else throw new UsageError(`${options.classifier}: not a tokenfilter classifier (kind ${JSON.stringify(kind)})`);
  const seconds = (performance.now() - started) / 1000;
  const summary = { command: 'eval-classifier', classifier: options.classifier, kind, label: options.label, layers, scoring, reading, lexicon, seconds, ...result, kinds };
  if (options.json) writeJson(io, summary);
  else {
    const f = (m: Evaluation['maxF1']) => `P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)} F1 ${m.f1.toFixed(4)} (threshold ${m.threshold.toFixed(3)})`;
    const beside = lexicon ? `, lexicon beside ${lexicon.probeWeight} x the probe's logit` : '';
    if (scoring) io.stdout.write(`scores: ${scoring}, probe on layer ${layers!.join('+')}, ${reading} reading${beside}\n`);
    for (const k of kinds ?? [{ ...result, name: 'documents' }]) {
      io.stdout.write(`${kind} level, ${k.name}: ${k.items} items (${k.positives} ${options.label}) in ${k.documents} documents\n`);
      io.stdout.write(`  at threshold: ${f(k.atThreshold)}\n  at max F1:    ${f(k.maxF1)}\n`);
    }
  }
  return result;
}

/** The classifier with the scoring method of `--smoothing` / `--segmentation`, if one is given. */
function withOverride(classifier: TokenClassifier, options: EvalClassifierCommandOptions): TokenClassifier {
  if (options.smoothing !== undefined && options.segmentation !== undefined) throw new UsageError('give --smoothing or --segmentation, not both');
  let method: ScoreMethod | undefined;
  if (options.smoothing !== undefined) method = { kind: 'smooth', radius: options.smoothing };
  if (options.segmentation !== undefined) method = parseSegmentationOption(options.segmentation);
  let scored = method ? classifier.withMethod(method) : classifier;
  if (options.reading !== undefined) scored = scored.withReading(options.reading);
  if (options.lexicon === false && options.probeWeight !== undefined) throw new UsageError('give --no-lexicon or --probe-weight, not both');
  if (options.lexicon === false) scored = scored.withLexicon(null);
  if (options.probeWeight !== undefined) {
    if (!scored.lexicon) throw new UsageError(`--probe-weight: ${options.classifier} has no lexicon`);
    scored = scored.withLexicon({ lexicon: scored.lexicon.lexicon, probeWeight: options.probeWeight });
  }
  return scored;
}

/** Sentence-level mixes (sentence_mixes.ts) from the val split of each domain in `folder`/corpus. */
async function sentenceMixesOfFolder(folder: string, forget: string, count: number, seed: number) {
  return sentenceMixesOf(await readSplitByDomain(folder, 'val'), forget, { count, random: new Random(seed) });
}

/** Adds `eval-classifier` to the program. */
export function registerEvalClassifier(program: Command, io: CliIO): void {
  program
    .command('eval-classifier')
    .description('precision / recall / F1 of a token classifier against character spans, or of a document classifier')
    .requiredOption('--classifier <path>', 'classifier file (token or document)')
    .option('--spans <files...>', 'JSON Lines records {text, spans: [[start, end, label], ...]} (token classifiers; each file reported separately)')
    .option('--sentence-mixes <dir>', 'token classifiers: also evaluate on sentence-level mixes built from DIR/corpus/*.val.jsonl.gz')
    .option('--mix-count <n>', 'sentence-level mixes to build', (v) => parseIntegerOption('--mix-count', v, 1), 1000)
    .option('--mix-seed <n>', 'seed of the sentence-level mixes', (v) => parseIntegerOption('--mix-seed', v, 0), 0)
    .option('--smoothing <radius>', 'token classifiers: score with this smoothing radius instead of the saved method', (v) => parseIntegerOption('--smoothing', v, 0))
    .option('--segmentation <costs>', 'token classifiers: score with this segmentation, C[,S[,L[,B]]] (switch, sentence, line cost, bias)')
    .option('--reading <kind>', `token classifiers: read documents this way (${READINGS.join(' or ')}) instead of the saved reading`, readingOption)
    .option('--no-lexicon', "token classifiers with a lexicon: score with the probe alone")
    .option('--probe-weight <x>', "token classifiers with a lexicon: this share of the probe's logit beside the lexicon's evidence (0: the lexicon alone)", numberOption('--probe-weight', 0, 1e6))
    .option('--documents <files...>', 'JSON Lines records {text, domain} (document classifiers)')
    .option('--label <name>', 'the positive span label / domain', 'medical')
    .option('--threshold <x>', 'decision threshold (default: the classifier\'s max-F1 validation threshold)', numberOption('--threshold', 0, 1))
    .option('--limit <n>', 'at most this many documents (per file)', (v) => parseIntegerOption('--limit', v, 1))
    .option('--max-tokens <n>', 'document classifiers: pool over the first n tokens of each document', (v) => parseIntegerOption('--max-tokens', v, 1))
    .option('--json', 'print a JSON report on stdout')
    .action(async (options: EvalClassifierCommandOptions) => {
      await evalClassifierCommand(options, io);
    });
}
