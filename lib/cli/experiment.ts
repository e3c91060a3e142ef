/**
 * `tokenfilter experiment --data DIR --out DIR`: the filtering experiment (baseline and filtered
 * models at several sizes, scaling fits, compute slowdown, Pareto sweep) and its report.
 * Resumable: rerun the same command to continue; finished runs are skipped.
 * @module
 */
import type { Command } from 'commander';
import { runFilteringExperiment } from '../experiment/filtering_experiment.js';
import { EXPERIMENT_DEFAULTS } from '../experiment/experiment_options.js';
import { readExperimentResults, type FilteringExperimentResults } from '../experiment/experiment_results.js';
import { parseModelSize, sizeName } from '../experiment/model_size.js';
import { writeExperimentReport } from '../experiment/experiment_report.js';
import type { FilterMode } from '../filter/filter_tokens.js';
import { checkOutputPaths } from '../data/output_path.js';
import { UsageError, parseIntegerOption, parseNumberOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter experiment`, as the CLI parses them. */
export interface ExperimentCommandOptions {
  data: string;
  out: string;
  classifier?: string;
  labels: 'classifier' | 'domain';
  stream: 'documents' | 'mixed';
  documentScores: 'classifier' | 'mean';
  match: 'supervised' | 'steps';
  parameterBasis: 'non-embedding' | 'total';
  delayShares: string;
  trainStreamTokens: number;
  valTokens: number;
  valMixedTokens: number;
  sizes: string;
  seeds: string;
  modes: string;
  sweepSize: number;
  fractions: string;
  tokensPerParameter: number;
  context: number;
  batch: number;
  lr: number;
  threshold?: number;
  noiseRates: string;
  attack: boolean;
  attackBudget: number;
  attackLrs: string;
  rmuSteps: number;
  mcqPerDomain: number;
  reportOnly?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Runs `experiment`; returns the results (also in OUT/results.json, with the report beside it). */
export async function experimentCommand(options: ExperimentCommandOptions, io: CliIO): Promise<FilteringExperimentResults> {
  const list = (flag: string, text: string) =>
    text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseNumberOption(flag, s, -Infinity, Infinity));
  // the report files and results.json are rewritten in --out: the classifier may not be one of them
  const reportFile = (name: string) => name === 'results.json' || name === 'table.txt' || name === 'index.html' || name.endsWith('.svg');
  await checkOutputPaths([{ folder: options.out, role: '--out', writes: reportFile }], options.classifier ? [{ path: options.classifier, role: '--classifier' }] : []);
  let sizes;
  try {
    sizes = options.sizes.split(',').map(parseModelSize);
  } catch (error) {
    throw new UsageError(`--sizes: ${(error as Error).message}`);
  }
  const modes = options.modes.split(',').map((s) => s.trim()) as FilterMode[];
  for (const m of modes) if (!['document', 'mask', 'remove'].includes(m)) throw new UsageError(`--modes: unknown mode '${m}' (document, mask, remove)`);
  if (options.labels === 'classifier' && !options.classifier && !options.reportOnly)
    throw new UsageError('--classifier is required with --labels classifier (train one with `tokenfilter train-classifier --preset default`)');
  const log = options.quiet ? () => {} : (line: string) => io.stderr.write(`${line}\n`);
  let results: FilteringExperimentResults;
  if (options.reportOnly) {
    const found = await readExperimentResults(options.out);
    if (!found) throw new UsageError(`${options.out}: no results.json to report on`);
    results = found;
  } else {
    try {
      results = await runFilteringExperiment({
        data: options.data, out: options.out, labels: options.labels, classifier: options.classifier, sizes,
        stream: options.stream, documentScores: options.documentScores, match: options.match, parameterBasis: options.parameterBasis,
        delayShares: options.delayShares.trim() === '' ? [] : list('--delay-shares', options.delayShares),
        minTrainTokens: options.trainStreamTokens, valTokensPerDomain: options.valTokens, valMixedTokens: options.valMixedTokens,
        seeds: list('--seeds', options.seeds), modes, sweepSize: options.sweepSize, sweepFractions: list('--fractions', options.fractions),
        tokensPerParameter: options.tokensPerParameter, context: options.context, batch: options.batch, lr: options.lr,
        threshold: options.threshold, noiseRates: options.noiseRates.trim() === '' ? [] : list('--noise-rates', options.noiseRates),
        attack: options.attack, attackBudget: options.attackBudget, attackLrs: list('--attack-lrs', options.attackLrs), rmuSteps: options.rmuSteps, mcqPerDomain: options.mcqPerDomain, onLog: log,
        signal: io.signal, // Ctrl-C in the CLI (main.ts)
      });
    } catch (error) {
      if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(error.message, { cause: error });
      throw error;
    }
  }
  const files = await writeExperimentReport(options.out, results);
  if (options.json) writeJson(io, results);
  else io.stdout.write(`${files.table}\nreport: ${files.html}\n`);
  return results;
}

/** Adds `experiment` to the program. */
export function registerExperiment(program: Command, io: CliIO): void {
  const d = EXPERIMENT_DEFAULTS;
  const number = (flag: string) => (v: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} must be a positive number, got '${v}'`);
    return x;
  };
  const choice = (flag: string, allowed: string[]) => (v: string) => {
    if (!allowed.includes(v)) throw new UsageError(`${flag} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${v}'`);
    return v;
  };
  program
    .command('experiment')
    .description('baseline and filtered models at several sizes on a domain corpus: per-domain loss, scaling fits, compute slowdown, Pareto sweep, report (resumable)')
    .requiredOption('--data <dir>', 'data folder holding corpus/<domain>.{train,val}.jsonl.gz (e.g. ../shared/data)')
    .requiredOption('--out <dir>', 'experiment folder (results.json, models, report); rerun to continue')
    .option('--classifier <path>', 'token classifier (.safetensors) that scores the training tokens')
    .option('--labels <source>', "'classifier' (scores from --classifier) or 'domain' (every token of a medical document)", (v) => {
      if (v !== 'classifier' && v !== 'domain') throw new UsageError(`--labels must be 'classifier' or 'domain', got '${v}'`);
      return v;
    }, d.labels)
    .option('--stream <kind>', "training stream: 'mixed' (web-like documents with medical sentences and paragraphs inside) or 'documents' (the corpus's single-domain documents)", choice('--stream', ['documents', 'mixed']), d.stream)
    .option('--document-scores <how>', "document filter scores: 'classifier' (the document classifier beside --classifier) or 'mean' (mean token score)", choice('--document-scores', ['classifier', 'mean']), d.documentScores)
    .option('--match <what>', "filtered runs match the baseline's 'supervised' tokens (train longer) or its 'steps' (same compute)", choice('--match', ['supervised', 'steps']), d.match)
    .option('--parameter-basis <basis>', "--tokens-per-parameter counts 'non-embedding' or 'total' parameters", choice('--parameter-basis', ['non-embedding', 'total']), d.parameterBasis)
    .option('--delay-shares <list>', "delayed filtering at the sweep size: shares of training before filtering starts ('' for none)", d.delayShares.join(','))
    .option('--train-stream-tokens <n>', 'build the training stream for at least this many tokens (so later invocations with larger sizes reuse it)', (v) => parseIntegerOption('--train-stream-tokens', v, 0), d.minTrainTokens)
    .option('--val-tokens <n>', 'held-out tokens per domain', (v) => parseIntegerOption('--val-tokens', v, 1), d.valTokensPerDomain)
    .option('--val-mixed-tokens <n>', 'tokens of held-out mixed documents (mixed stream)', (v) => parseIntegerOption('--val-mixed-tokens', v, 1), d.valMixedTokens)
    .option('--sizes <list>', 'model sizes LAYERSxWIDTH, smallest first', d.sizes.map(sizeName).join(','))
    .option('--seeds <list>', 'seeds per size and mode', d.seeds.join(','))
    .option('--modes <list>', 'filtering modes', d.modes.join(','))
    .option('--sweep-size <i>', 'index into --sizes of the flagged-fraction sweep (-1: none)', (v) => parseIntegerOption('--sweep-size', v, -1, 64), d.sweepSize)
    .option('--fractions <list>', 'flagged fractions of the sweep', d.sweepFractions.join(','))
    .option('--tokens-per-parameter <x>', 'training tokens per non-embedding parameter', number('--tokens-per-parameter'), d.tokensPerParameter)
    .option('--context <n>', 'context length', (v) => parseIntegerOption('--context', v, 2, 1 << 16), d.context)
    .option('--batch <n>', 'sequences per step', (v) => parseIntegerOption('--batch', v, 1, 1 << 16), d.batch)
    .option('--lr <x>', 'peak learning rate', number('--lr'), d.lr)
    .option('--threshold <x>', "flagging threshold of the ladder (default: the classifier's max-F1 threshold)", number('--threshold'))
    .option('--noise-rates <list>', "flip rates of the label-noise runs at the sweep size ('' for none)", d.noiseRates.join(','))
    .option('--no-attack', 'skip RMU and the adversarial fine-tuning at the largest size')
    .option('--attack-budget <x>', 'attack token budget as a fraction of pretraining tokens', number('--attack-budget'), d.attackBudget)
    .option('--attack-lrs <list>', 'constant learning rates each attack tries (on a quarter of its budget) before keeping the fastest', d.attackLrs.join(','))
    .option('--rmu-steps <n>', 'RMU steps', (v) => parseIntegerOption('--rmu-steps', v, 1), d.rmuSteps)
    .option('--mcq-per-domain <n>', 'multiple-choice questions per domain for the largest models (0: none)', (v) => parseIntegerOption('--mcq-per-domain', v, 0), d.mcqPerDomain)
    .option('--report-only', 'only rewrite the report from OUT/results.json')
    .option('--json', 'print results.json on stdout')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (options: ExperimentCommandOptions) => {
      await experimentCommand(options, io);
    });
}
