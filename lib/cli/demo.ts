/**
 * `tokenfilter demo`: the whole method on the built-in corpus, with a report folder.
 * @module
 */
import type { Command } from 'commander';
import { formatDemoSummary, formatDemoTable, writeDemoReport } from '../demo/report.js';
import { DEMO_DEFAULTS, runDemo, validateDemoOptions, type DemoOptions, type DemoReport } from '../demo/run_demo.js';
import { BINARY_SCORE_THRESHOLD } from '../stages/filter.js';
import { READINGS, type Reading } from '../classify/reading.js';
import { readingOption } from './train_classifier.js';
import { UsageError, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter demo`, as the CLI parses them. */
export interface DemoCommandOptions {
  out: string;
  steps: number;
  match: string;
  vocab: number;
  layers: number;
  dim: number;
  heads: number;
  context: number;
  batch: number;
  lr: number;
  seed: number;
  labels: string;
  threshold?: number;
  fraction?: number;
  labellerLayers: number;
  labellerDim: number;
  labellerContext: number;
  labellerSteps: number;
  labellerBatch: number;
  saeLatents: number;
  saeK: number;
  saeSteps: number;
  saeSample: number;
  saeTop: number;
  z?: number;
  minLatents?: number;
  bilmFromLabeller?: boolean;
  bilmLayers: number;
  bilmDim: number;
  bilmContext: number;
  bilmSteps: number;
  bilmBatch: number;
  reading: Reading;
  labelDocs: number;
  trainDocs: number;
  json?: boolean;
  quiet?: boolean;
}

/** Runs the demo, writes report.json / loss.svg / index.html and prints the summary table. */
export async function demoCommand(options: DemoCommandOptions, io: CliIO): Promise<DemoReport> {
  const demoOptions: DemoOptions = {
    out: options.out,
    steps: options.steps,
    match: options.match as DemoOptions['match'],
    vocabSize: options.vocab,
    layers: options.layers,
    dModel: options.dim,
    heads: options.heads,
    context: options.context,
    batch: options.batch,
    lr: options.lr,
    seed: options.seed,
    labels: options.labels as DemoOptions['labels'],
    threshold: options.threshold,
    fraction: options.fraction,
    labellerLayers: options.labellerLayers,
    labellerDim: options.labellerDim,
    labellerContext: options.labellerContext,
    labellerSteps: options.labellerSteps,
    labellerBatch: options.labellerBatch,
    saeLatents: options.saeLatents,
    saeK: options.saeK,
    saeSteps: options.saeSteps,
    saeSampleTokens: options.saeSample,
    saeTop: options.saeTop,
    // --z or --min-latents fix the rule; otherwise it is chosen on the SAE sample
    ...(options.z !== undefined || options.minLatents !== undefined
      ? { ruleCandidates: null, z: options.z ?? DEMO_DEFAULTS.z, minLatents: options.minLatents ?? DEMO_DEFAULTS.minLatents }
      : {}),
    separateBilm: !options.bilmFromLabeller,
    bilmLayers: options.bilmLayers,
    bilmDim: options.bilmDim,
    bilmContext: options.bilmContext,
    bilmSteps: options.bilmSteps,
    bilmBatch: options.bilmBatch,
    reading: options.reading,
    labelDocuments: options.labelDocs,
    trainDocuments: options.trainDocs,
    signal: io.signal, // Ctrl-C in the CLI (main.ts)
    onLog: options.quiet ? undefined : (line) => io.stderr.write(`${line}\n`),
  };
  try {
    validateDemoOptions({ ...DEMO_DEFAULTS, ...demoOptions });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const report: DemoReport = await runDemo(demoOptions);
  const files = await writeDemoReport(options.out, report);
  if (options.json) writeJson(io, report);
  else {
    io.stdout.write(`\n${formatDemoSummary(report)}\n\n${formatDemoTable(report)}\n\n`);
    io.stdout.write(`Loss in nats per token on held-out WordNet documents; Δ = change against the unfiltered baseline.\n`);
    io.stdout.write(`Report: ${files.join(', ')} (${report.seconds.toFixed(0)} s)\n`);
  }
  return report;
}

/** Adds `demo` to the program. */
export function registerDemo(program: Command, io: CliIO): void {
  const d = DEMO_DEFAULTS;
  program
    .command('demo')
    .description(
      'run the whole method on the built-in WordNet corpus: tokenizer, labeller LM, SAE labels, biLM token classifier, ' +
        'scores, filtering in three modes, a baseline and three filtered models, per-domain loss, and a report folder',
    )
    .option('--out <dir>', 'report and work folder', d.out)
    .option('--steps <n>', 'training steps per model', (v) => parseIntegerOption('--steps', v, 1), d.steps)
    .option('--match <what>', "compare at matched 'supervised' tokens or matched 'steps' (compute)", (v) => {
      if (v !== 'supervised' && v !== 'steps') throw new UsageError(`--match must be 'supervised' or 'steps', got '${v}'`);
      return v;
    }, d.match)
    .option('--vocab <n>', 'BPE vocabulary size', (v) => parseIntegerOption('--vocab', v, 300, 1 << 20), d.vocabSize)
    .option('--layers <n>', 'transformer layers', (v) => parseIntegerOption('--layers', v, 1, 256), d.layers)
    .option('--dim <n>', 'model width', (v) => parseIntegerOption('--dim', v, 8, 1 << 15), d.dModel)
    .option('--heads <n>', 'attention heads', (v) => parseIntegerOption('--heads', v, 1, 1024), d.heads)
    .option('--context <n>', 'context length', (v) => parseIntegerOption('--context', v, 2, 1 << 16), d.context)
    .option('--batch <n>', 'sequences per batch', (v) => parseIntegerOption('--batch', v, 1, 1 << 16), d.batch)
    .option('--lr <x>', 'peak learning rate', numberOption('--lr', 0, 10), d.lr)
    .option('--seed <n>', 'seed of the corpus layout, initialisation and batch order', (v) => parseIntegerOption('--seed', v, 0), d.seed)
    .option('--train-docs <n>', 'use only the first n training documents (0 = all), to scale the demo down', (v) => parseIntegerOption('--train-docs', v, 0), d.trainDocuments)
    .option('--labels <source>', "forget scores from the 'sae' chain (labeller LM → SAE labels → biLM probe) or the corpus's 'gold' sentence labels", (v) => {
      if (v !== 'sae' && v !== 'gold') throw new UsageError(`--labels must be 'sae' or 'gold', got '${v}'`);
      return v;
    }, d.labels)
    .option('--threshold <p>', `token threshold of the filters (default: the classifier's max-F1 threshold; ${BINARY_SCORE_THRESHOLD} with gold labels)`, numberOption('--threshold', 0, 1))
    .option('--fraction <f>', 'flag this fraction of training tokens in every mode instead of thresholding', numberOption('--fraction', 1e-6, 1 - 1e-6))
    .option('--labeller-layers <n>', 'labeller LM layers (the SAE reads the last)', (v) => parseIntegerOption('--labeller-layers', v, 1, 64), d.labellerLayers)
    .option('--labeller-dim <n>', 'labeller LM width', (v) => parseIntegerOption('--labeller-dim', v, 8, 1 << 14), d.labellerDim)
    .option('--labeller-context <n>', 'labeller LM context', (v) => parseIntegerOption('--labeller-context', v, 2, 1 << 16), d.labellerContext)
    .option('--labeller-steps <n>', 'labeller LM training steps', (v) => parseIntegerOption('--labeller-steps', v, 1), d.labellerSteps)
    .option('--labeller-batch <n>', 'labeller LM windows per step', (v) => parseIntegerOption('--labeller-batch', v, 1, 1 << 16), d.labellerBatch)
    .option('--sae-latents <n>', 'SAE latents', (v) => parseIntegerOption('--sae-latents', v, 2, 1 << 20), d.saeLatents)
    .option('--sae-k <n>', 'active latents per token (TopK)', (v) => parseIntegerOption('--sae-k', v, 1, 1 << 20), d.saeK)
    .option('--sae-steps <n>', 'SAE training steps', (v) => parseIntegerOption('--sae-steps', v, 1), d.saeSteps)
    .option('--sae-sample <n>', 'training tokens the SAE trains on and latents are selected on', (v) => parseIntegerOption('--sae-sample', v, 1), d.saeSampleTokens)
    .option('--sae-top <n>', 'medical latents kept (best AUROC on the sample)', (v) => parseIntegerOption('--sae-top', v, 1, 1 << 20), d.saeTop)
    .option('--z <x>', `labelling rule: standard deviations above the mean (default: z and min-latents chosen on the SAE sample among z ${ruleList(d.ruleCandidates?.z)} × min-latents ${ruleList(d.ruleCandidates?.minLatents)}; with --z alone, min-latents ${d.minLatents})`, numberOption('--z', -100, 100))
    .option('--min-latents <n>', `labelling rule: latents that must pass for a seed token (fixes the rule; with --min-latents alone, z ${d.z})`, (v) => parseIntegerOption('--min-latents', v, 1, 1 << 20))
    .option('--bilm-layers <n>', 'classifier biLM layers per direction', (v) => parseIntegerOption('--bilm-layers', v, 1, 64), d.bilmLayers)
    .option('--bilm-dim <n>', 'classifier biLM width', (v) => parseIntegerOption('--bilm-dim', v, 8, 1 << 14), d.bilmDim)
    .option('--bilm-context <n>', 'classifier biLM context', (v) => parseIntegerOption('--bilm-context', v, 2, 1 << 16), d.bilmContext)
    .option('--bilm-from-labeller', "reuse the labeller LM as the classifier biLM's forward half and train only a backward model of its shape (instead of --bilm-*): better probe features, slower scoring")
    .option('--bilm-steps <n>', 'classifier biLM training steps per trained direction', (v) => parseIntegerOption('--bilm-steps', v, 1), d.bilmSteps)
    .option('--bilm-batch <n>', 'classifier biLM windows per step', (v) => parseIntegerOption('--bilm-batch', v, 1, 1 << 16), d.bilmBatch)
    .option('--reading <kind>', `how the biLM reads documents for the probe and for scoring: ${READINGS.join(' or ')}`, readingOption, d.reading)
    .option('--label-docs <n>', `training documents SAE-labelled for the token probe (${d.probeValDocuments} of them validate it)`, (v) => parseIntegerOption('--label-docs', v, 2), d.labelDocuments)
    .option('--json', 'print the whole report as JSON on stdout instead of the table')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (options: DemoCommandOptions) => {
      await demoCommand(options, io);
    });
}

function ruleList(values: readonly number[] | undefined): string {
  return values ? `{${values.join(', ')}}` : '(none)';
}
