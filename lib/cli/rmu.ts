/**
 * `tokenfilter rmu --model M --forget SHARDS... --retain SHARDS... --out M2`: unlearn the forget
 * domain with RMU (the paper's unlearning baseline) and save the result.
 * @module
 */
import type { Command } from 'commander';
import { prepareFileOutputs } from '../data/output_path.js';
import type { BatchSampler } from '../data/sampler.js';
import { rmu, RMU_DEFAULTS, type RmuResult } from '../eval/rmu.js';
import { derivedTokenizerMetadata } from '../model/model_tokenizer.js';
import { asRecorded, checkModelsAgainstShards, loadModelArgument, openSampler, shardContract } from './attack.js';
import { ProgressLine, UsageError, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter rmu`, as the CLI parses them. */
export interface RmuCommandOptions {
  model: string;
  forget: string[];
  retain: string[];
  out: string;
  layer?: number;
  steps: number;
  alpha: number;
  steering: number;
  lr: number;
  batch: number;
  context?: number;
  seed: number;
  json?: boolean;
}

/** Runs `rmu` and returns its result. */
export async function rmuCommand(options: RmuCommandOptions, io: CliIO): Promise<RmuResult> {
  await prepareFileOutputs([{ path: options.out, role: '--out' }], [
    { path: options.model, role: '--model' },
    ...[...options.forget, ...options.retain].map((path) => ({ path, role: 'input shard' })),
  ]);
  const model = await loadModelArgument(options.model, '--model');
  const L = model.config.layers;
  if (options.layer !== undefined && options.layer > L) throw new UsageError(`--layer must be in [1, ${L}] for this model, got ${options.layer}`);
  const context = options.context ?? model.config.context;
  if (context > model.config.context) throw new UsageError(`--context ${context} exceeds the model's context ${model.config.context}`);
  const contract = shardContract([...options.forget, ...options.retain], model);
  await checkModelsAgainstShards([options.model], contract, options.forget[0] ?? options.retain[0]);
  const samplers: BatchSampler[] = [];
  samplers.push(openSampler(options.forget, options.batch, context, options.seed, contract));
  const progress = new ProgressLine(io, 'rmu');
  let result: RmuResult;
  try {
    samplers.push(openSampler(options.retain, options.batch, context, options.seed + 1, contract));
    result = await rmu(model, samplers[0], samplers[1], {
      layer: options.layer,
      steps: options.steps,
      alpha: options.alpha,
      steeringCoefficient: options.steering,
      lr: options.lr,
      seed: options.seed,
      inPlace: true,
      signal: io.signal, // Ctrl-C in the CLI (main.ts)
      onProgress: (p) => {
        progress.update(p.step, p.steps, 'steps', `forget ${p.forgetLoss.toFixed(3)} · retain ${p.retainLoss.toFixed(4)}`);
        if (!io.stderr.isTTY && (p.step === 1 || p.step % 50 === 0 || p.step === p.steps))
          io.stderr.write(`step ${p.step}/${p.steps}: forget ${p.forgetLoss.toFixed(4)}, retain ${p.retainLoss.toFixed(5)}\n`);
      },
    });
  } finally {
    progress.finish();
    for (const sampler of samplers) sampler.close();
  }
  const settings = { layer: result.layer, blocks: result.blocks, steps: result.steps, alpha: result.alpha, steeringCoefficient: result.steeringCoefficient, lr: result.lr, seed: result.seed };
  await result.model.save(options.out, { ...(await derivedTokenizerMetadata(options.model, asRecorded(contract))), rmu: JSON.stringify({ source: options.model, ...settings }) });
  const first = result.curve[0];
  const last = result.curve[result.curve.length - 1];
  if (options.json)
    writeJson(io, { command: 'rmu', model: options.model, out: options.out, ...settings, updatedTensors: result.updatedTensors, curve: result.curve });
  else
    io.stdout.write(
      `RMU at layer ${result.layer} (MLPs of blocks ${result.blocks.join(', ')}), ${result.steps} steps: forget ${first.forgetLoss.toFixed(4)} → ` +
        `${last.forgetLoss.toFixed(4)}, retain ${first.retainLoss.toFixed(5)} → ${last.retainLoss.toFixed(5)}; saved ${options.out}\n`,
    );
  return result;
}

/** Adds `rmu` to the program. */
export function registerRmu(program: Command, io: CliIO): void {
  const int = (name: string, min: number, max?: number) => (v: string) => parseIntegerOption(name, v, min, max);
  program
    .command('rmu')
    .description("unlearn the forget domain with RMU: steer layer l's residual on forget text to c·u, keep retain text's, update the MLPs of layers l-2..l")
    .requiredOption('--model <path>', 'the model to unlearn from (safetensors)')
    .requiredOption('--forget <shards...>', 'forget-domain token shards')
    .requiredOption('--retain <shards...>', 'retain token shards')
    .requiredOption('--out <path>', 'where to save the unlearned model')
    .option('--layer <l>', 'hidden state steered: the residual after block l, 1-based (default the middle, ⌈L/2⌉)', int('--layer', 1, 1024))
    .option('--steps <n>', 'optimizer steps', int('--steps', 1), RMU_DEFAULTS.steps)
    .option('--alpha <x>', 'weight of the retain term', numberOption('--alpha', 0, 1e9), RMU_DEFAULTS.alpha)
    .option('--steering <c>', 'steering coefficient c', numberOption('--steering', 1e-9, 1e9), RMU_DEFAULTS.steeringCoefficient)
    .option('--lr <x>', 'AdamW learning rate', numberOption('--lr', 1e-12, 10), RMU_DEFAULTS.lr)
    .option('--batch <n>', 'sequences per batch', int('--batch', 1, 1 << 16), 4)
    .option('--context <n>', "sequence length (default the model's context)", int('--context', 1, 1 << 20))
    .option('--seed <n>', 'seed of u and of the batch order', int('--seed', 0), 0)
    .option('--json', 'print a JSON summary (with the loss curve) on stdout')
    .action(async (options: RmuCommandOptions) => {
      await rmuCommand(options, io);
    });
}
