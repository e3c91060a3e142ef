/**
 * `tokenfilter mixture --data DIR --out DIR`: the mixture study (medical share in pretraining →
 * separability, steering, alignability) and its report. Resumable: rerun the same command to
 * continue; finished runs are skipped. Defaults come from MIXTURE_DEFAULTS.
 * @module
 */
import type { Command } from 'commander';
import { MIXTURE_DEFAULTS, readMixtureResults, runMixtureExperiment, type MixtureResults } from '../experiment/mixture/run_mixture.js';
import { mixtureTables, writeMixtureReport } from '../experiment/mixture/mixture_report.js';
import { COMPARISON_DEFAULTS, type ComparisonSettings } from '../experiment/mixture/filtering_comparison.js';
import { UsageError, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter mixture`, as the CLI parses them. */
export interface MixtureCommandOptions {
  data: string;
  out: string;
  shares: string;
  seeds: string;
  layers: number;
  width: number;
  heads: number;
  context: number;
  vocab: number;
  steps: number;
  batch: number;
  lr: number;
  ks: string;
  alphas: string;
  alignCost: number;
  samples: number;
  compare?: boolean;
  compareShare?: number;
  rmuSteps?: number;
  attackBudget?: number;
  attackLrs?: string;
  reportOnly?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function numbers(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`${flag} must list at least one number`);
  return parts.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new UsageError(`${flag}: '${s}' is not a number`);
    return v;
  });
}

/** The comparison settings of the `--compare*` flags (false without `--compare`). */
function compareSettings(options: MixtureCommandOptions): false | ComparisonSettings {
  const given = options.compareShare !== undefined || options.rmuSteps !== undefined || options.attackBudget !== undefined || options.attackLrs !== undefined;
  if (!options.compare) {
    if (given) throw new UsageError('--compare-share, --rmu-steps, --attack-budget and --attack-lrs need --compare');
    return false;
  }
  return {
    share: options.compareShare === undefined ? undefined : options.compareShare / 100,
    rmuSteps: options.rmuSteps,
    attackBudget: options.attackBudget,
    attackLrs: options.attackLrs === undefined ? undefined : numbers('--attack-lrs', options.attackLrs),
  };
}

/** Runs `mixture`; returns the results (also in OUT/results.json, with the report beside it). */
export async function mixtureCommand(options: MixtureCommandOptions, io: CliIO): Promise<MixtureResults> {
  let results: MixtureResults;
  if (options.reportOnly) {
    const found = await readMixtureResults(options.out);
    if (!found) throw new UsageError(`${options.out}: no results.json to report on`);
    results = found;
  } else {
    const log = options.quiet ? () => {} : (line: string) => io.stderr.write(`${line}\n`);
    const shares = numbers('--shares', options.shares).map((p) => p / 100);
    results = await runMixtureExperiment({
      data: options.data, out: options.out, shares, seeds: numbers('--seeds', options.seeds),
      layers: options.layers, dModel: options.width, heads: options.heads, context: options.context, vocabSize: options.vocab,
      steps: options.steps, batch: options.batch, lr: options.lr, ks: numbers('--ks', options.ks), alphas: numbers('--alphas', options.alphas),
      alignCost: options.alignCost, samples: options.samples, onLog: log, compare: compareSettings(options),
      signal: io.signal, // Ctrl-C in the CLI (main.ts)
    });
  }
  await writeMixtureReport(options.out, results);
  if (options.json) writeJson(io, results);
  else io.stdout.write(`${mixtureTables(results)}\nreport: ${options.out}/index.html\n`);
  return results;
}

/** Adds `mixture` to the program. */
export function registerMixture(program: Command, io: CliIO): void {
  const d = MIXTURE_DEFAULTS;
  const c = COMPARISON_DEFAULTS;
  const positive = (flag: string) => (v: string) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} must be a positive number, got '${v}'`);
    return x;
  };
  const int = (flag: string, min = 1) => (v: string) => parseIntegerOption(flag, v, min);
  program
    .command('mixture')
    .description('models pretrained at several medical shares: linear separability per layer and head, ITI and residual steering, alignability, samples (resumable)')
    .requiredOption('--data <dir>', 'data folder holding corpus/<domain>.{train,val}.jsonl.gz (e.g. ../shared/data)')
    .requiredOption('--out <dir>', 'output folder (results.json, models, report)')
    .option('--shares <list>', 'medical shares of the training tokens, in percent', d.shares.map((s) => s * 100).join(','))
    .option('--seeds <list>', 'seeds per share', d.seeds.join(','))
    .option('--layers <n>', 'model depth', int('--layers'), d.layers)
    .option('--width <n>', 'model width (dModel)', int('--width'), d.dModel)
    .option('--heads <n>', 'attention heads', int('--heads'), d.heads)
    .option('--context <n>', 'context length', int('--context', 2), d.context)
    .option('--vocab <n>', 'vocabulary of the BPE tokenizer trained on the corpus (first run only)', int('--vocab', 258), d.vocabSize)
    .option('--steps <n>', 'training steps of every model (same tokens at every share)', int('--steps'), d.steps)
    .option('--batch <n>', 'sequences per step', int('--batch'), d.batch)
    .option('--lr <x>', 'peak learning rate', positive('--lr'), d.lr)
    .option('--ks <list>', 'ITI: numbers of top heads steered', d.ks.join(','))
    .option('--alphas <list>', 'ITI: strengths (multiples of the projected std)', d.alphas.join(','))
    .option('--align-cost <x>', 'general-loss rise (nats) at which alignability is read', positive('--align-cost'), d.alignCost)
    .option('--samples <n>', 'medical prompts sampled with and without steering per model', int('--samples', 0), d.samples)
    .option('--compare', 'then compare with filtering at one share: token removal, ITI, RMU, and the fine-tuning tokens that bring medicine back')
    .option('--compare-share <pct>', 'medical share (percent) of the compared unfiltered model (default: the best alignability)', positive('--compare-share'))
    .option('--rmu-steps <n>', `comparison: RMU steps on the unfiltered model (default ${c.rmuSteps})`, int('--rmu-steps'))
    .option('--attack-budget <x>', `comparison: attack tokens as a fraction of the pretraining tokens (default ${c.attackBudget})`, positive('--attack-budget'))
    .option('--attack-lrs <list>', `comparison: learning rates each attack sweeps (default ${c.attackLrs.join(',')})`)
    .option('--report-only', 'only rewrite the report from OUT/results.json')
    .option('--json', 'print results.json on stdout')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (options: MixtureCommandOptions) => {
      await mixtureCommand(options, io);
    });
}
