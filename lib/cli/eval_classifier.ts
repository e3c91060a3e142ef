/**
 * `tokenfilter eval-classifier --classifier C (--spans FILE | --documents FILES...)`: precision,
 * recall and F1 of a token classifier against character spans (token level), or of a document
 * classifier against document domains, at a threshold and at the max-F1 threshold.
 * @module
 */
import type { Command } from 'commander';
import { DocumentClassifier } from '../classify/document_classifier.js';
import { evaluateDocumentClassifier, evaluateTokenClassifier, type Evaluation } from '../classify/evaluate.js';
import { TokenClassifier } from '../classify/token_classifier.js';
import { readSafetensors } from '../model/safetensors.js';
import { UsageError, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter eval-classifier`, as the CLI parses them. */
export interface EvalClassifierCommandOptions {
  classifier: string;
  spans?: string;
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
  if (kind === 'token') {
    if (!options.spans) throw new UsageError('a token classifier is evaluated with --spans FILE.jsonl[.gz] (records {text, spans})');
    const classifier = await load(() => TokenClassifier.load(options.classifier));
    result = await evaluateTokenClassifier(classifier, options.spans, options.label, { threshold: options.threshold, limit: options.limit });
  } else if (kind === 'document') {
    if (!options.documents?.length) throw new UsageError('a document classifier is evaluated with --documents FILES... (records {text, domain})');
    const classifier = await load(() => DocumentClassifier.load(options.classifier));
    result = await evaluateDocumentClassifier(classifier, options.documents, options.label, {
      threshold: options.threshold, limit: options.limit, maxTokens: options.maxTokens,
    });
  } else throw new UsageError(`${options.classifier}: not a tokenfilter classifier (kind ${JSON.stringify(kind)})`);
  const summary = { command: 'eval-classifier', classifier: options.classifier, kind, label: options.label, seconds: (performance.now() - started) / 1000, ...result };
  if (options.json) writeJson(io, summary);
  else {
    const f = (m: Evaluation['maxF1']) => `P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)} F1 ${m.f1.toFixed(4)} (threshold ${m.threshold.toFixed(3)})`;
    io.stdout.write(`${kind} level, ${result.items} items (${result.positives} ${options.label}) in ${result.documents} documents\n`);
    io.stdout.write(`  at threshold: ${f(result.atThreshold)}\n  at max F1:    ${f(result.maxF1)}\n`);
  }
  return result;
}

/** Adds `eval-classifier` to the program. */
export function registerEvalClassifier(program: Command, io: CliIO): void {
  program
    .command('eval-classifier')
    .description('precision / recall / F1 of a token classifier against character spans, or of a document classifier')
    .requiredOption('--classifier <path>', 'classifier file (token or document)')
    .option('--spans <file>', 'JSON Lines records {text, spans: [[start, end, label], ...]} (token classifiers)')
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
