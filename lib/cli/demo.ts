/**
 * `tokenfilter demo`: the whole method on the built-in corpus, with a report folder.
 * @module
 */
import type { Command } from 'commander';
import { formatDemoTable, writeDemoReport } from '../demo/report.js';
import { DEMO_DEFAULTS, runDemo, type DemoOptions, type DemoReport } from '../demo/run_demo.js';
import { UsageError, parseIntegerOption, writeJson, type CliIO } from './output.js';

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
  json?: boolean;
  quiet?: boolean;
}

/** Runs the demo, writes report.json / loss.svg / index.html and prints the summary table. */
export async function demoCommand(options: DemoCommandOptions, io: CliIO): Promise<DemoReport> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
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
    signal: controller.signal,
    onLog: options.quiet ? undefined : (line) => io.stderr.write(`${line}\n`),
  };
  try {
    const report = await runDemo(demoOptions);
    const files = await writeDemoReport(options.out, report);
    if (options.json) writeJson(io, report);
    else {
      io.stdout.write(`\n${formatDemoTable(report)}\n\n`);
      io.stdout.write(`Loss in nats per token on held-out WordNet documents; Δ = change against the unfiltered baseline.\n`);
      io.stdout.write(`Report: ${files.join(', ')} (${report.seconds.toFixed(0)} s)\n`);
    }
    return report;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

/** An option parser for a number in [min, max]. */
export function parseNumber(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number in [${min}, ${max}], got '${value}'`);
    return n;
  };
}

/** Adds `demo` to the program. */
export function registerDemo(program: Command, io: CliIO): void {
  const d = DEMO_DEFAULTS;
  program
    .command('demo')
    .description(
      'run the whole method on the built-in WordNet corpus: tokenizer, labels, filtering in three modes, ' +
        'a baseline and three filtered models, per-domain loss, and a report folder',
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
    .option('--lr <x>', 'peak learning rate', parseNumber('--lr', 0, 10), d.lr)
    .option('--seed <n>', 'seed of the corpus layout, initialisation and batch order', (v) => parseIntegerOption('--seed', v, 0), d.seed)
    .option('--json', 'print the whole report as JSON on stdout instead of the table')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (options: DemoCommandOptions) => {
      await demoCommand(options, io);
    });
}
