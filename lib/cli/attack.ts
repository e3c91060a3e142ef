/**
 * `tokenfilter finetune-attack --model M --forget SHARDS... --eval SHARD`: how many tokens of
 * forget-domain fine-tuning bring a model's forget loss back to a target (given, or the
 * baseline model's), at a constant learning rate given or chosen by a sweep.
 * @module
 */
import type { Command } from 'commander';
import { BatchSampler } from '../data/sampler.js';
import { readShard, readShardHeader } from '../data/shard.js';
import { SideFileKind, findSideFile, readSideFile } from '../data/side_file.js';
import type { RecordedContract, TokenizerContract } from '../data/tokenizer_contract.js';
import { prepareFileOutputs } from '../data/output_path.js';
import { checkModelAgainstShard } from '../model/model_contract.js';
import { derivedTokenizerMetadata } from '../model/model_tokenizer.js';
import { errorCode } from '../errors.js';
import {
  adversarialFinetune,
  forgetLoss,
  lrSweepFinetune,
  FINETUNE_DEFAULT_LR,
  SWEEP_DEFAULT_LRS,
  type AdversarialFinetuneResult,
  type ForgetEvalStream,
  type ForgetLossOptions,
  type LrSweepResult,
} from '../eval/adversarial_finetune.js';
import { Transformer } from '../model/transformer.js';
import { readSteeringFile } from '../steer/steering_file.js';
import type { Steering } from '../steer/steering.js';
import { ProgressLine, UsageError, formatCount, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Loads a model; a missing or malformed file is a usage error naming the option. */
export async function loadModelArgument(path: string, option: string): Promise<Transformer> {
  try {
    return await Transformer.load(path);
  } catch (error) {
    throw new UsageError(`${option} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The tokenizer contract recorded by `shards[0]`, which every shard (and side file) read later
 * must match; refuses shards that record none or whose vocabulary is not the model's.
 * @throws UsageError naming the file.
 */
export function shardContract(shards: readonly string[], model: Transformer): TokenizerContract {
  let contract: TokenizerContract | undefined;
  for (const path of shards) {
    let recorded: RecordedContract;
    try {
      recorded = readShardHeader(path, { expectTokenizer: contract }).tokenizer;
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_FILE_FORMAT' });
    }
    if (recorded.vocabSize === 0)
      throw new UsageError(`${path}: the shard records no tokenizer, so its ids cannot be checked against the model`, { code: 'E_TOKENIZER_MISMATCH' });
    if (recorded.vocabSize !== model.config.vocabSize)
      throw new UsageError(`${path}: vocabulary of ${recorded.vocabSize} does not match the model's ${model.config.vocabSize}`, { code: 'E_TOKENIZER_MISMATCH' });
    contract ??= { vocabSize: recorded.vocabSize, eotId: recorded.eotId, hiddenId: recorded.hiddenId, hash: recorded.hashPrefix, name: path };
  }
  if (!contract) throw new UsageError('no shards given');
  return contract;
}

/** `contract` (from {@link shardContract}) as recorded in files: the hash is already the 32-digit prefix. */
export function asRecorded(contract: TokenizerContract): RecordedContract {
  return { vocabSize: contract.vocabSize, eotId: contract.eotId, hiddenId: contract.hiddenId, hashPrefix: contract.hash };
}

/**
 * Refuses shards written with another tokenizer than the model files learned from (models that
 * record one; see lib/model/model_contract.ts).
 * @throws UsageError E_TOKENIZER_MISMATCH naming both files.
 */
export async function checkModelsAgainstShards(models: readonly string[], contract: TokenizerContract, shard: string): Promise<void> {
  for (const model of models) {
    try {
      await checkModelAgainstShard(model, { path: shard, tokenizer: asRecorded(contract) });
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_TOKENIZER_MISMATCH' });
    }
  }
}

/** Opens a sampler over `shards` (every target learned from: mask side files are ignored). */
export function openSampler(shards: readonly string[], batch: number, context: number, seed: number, contract: TokenizerContract): BatchSampler {
  try {
    return new BatchSampler({ shards, batch, context, seed, expectTokenizer: contract, lossMask: 'none' });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/** Options of `tokenfilter finetune-attack`, as the CLI parses them. */
export interface AttackCommandOptions {
  model: string;
  forget: string[];
  eval: string;
  targetLoss?: number;
  baselineModel?: string;
  lr?: number;
  lrSweep?: boolean;
  lrs?: string;
  maxTokens: number;
  sweepTokens?: number;
  batch: number;
  context?: number;
  evalEvery: number;
  forgetLabel: number;
  maxEvalWindows?: number;
  pretrainingTokens?: number;
  seed: number;
  /** JSON steering file kept applied at every evaluation of the attacked model (lib/steer/steering_file.ts). */
  evalSteering?: string;
  out?: string;
  json?: boolean;
}

/** What `finetune-attack` reports. */
export interface AttackCommandResult {
  result: AdversarialFinetuneResult;
  sweep: LrSweepResult | null;
  targetLoss: number;
}

function evalStream(path: string, contract: TokenizerContract): ForgetEvalStream {
  try {
    const shard = readShard(path, { expectTokenizer: contract });
    const labelsPath = findSideFile(path, SideFileKind.Labels);
    const tokens = Uint32Array.from(shard.tokens);
    if (!labelsPath) return { tokens };
    const labels = readSideFile(labelsPath, { expectKind: SideFileKind.Labels, expectTokens: tokens.length, expectTokenizer: contract }).values as Uint8Array;
    return { tokens, labels };
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/** The `--eval-steering` file, checked against the model; a bad file is a usage error naming it. */
async function steeringArgument(path: string, model: Transformer): Promise<Steering> {
  try {
    return await readSteeringFile(path, model);
  } catch (error) {
    throw new UsageError(`--eval-steering ${(error as Error).message}`, { cause: error, code: errorCode(error) ?? 'E_OPTION', path });
  }
}

/** Runs `finetune-attack`. */
export async function attackCommand(options: AttackCommandOptions, io: CliIO): Promise<AttackCommandResult> {
  if ((options.targetLoss === undefined) === (options.baselineModel === undefined))
    throw new UsageError('give exactly one of --target-loss X and --baseline-model PATH');
  if (options.lr !== undefined && options.lrSweep) throw new UsageError('give either --lr or --lr-sweep, not both');
  if (options.lrs !== undefined && !options.lrSweep) throw new UsageError('--lrs needs --lr-sweep');
  const lrs = options.lrs === undefined ? SWEEP_DEFAULT_LRS : options.lrs.split(',').map((s) => numberOption('--lrs', 1e-12, 10)(s.trim()));
  if (options.out !== undefined)
    await prepareFileOutputs([{ path: options.out, role: '--out' }], [
      { path: options.model, role: '--model' },
      ...(options.baselineModel !== undefined ? [{ path: options.baselineModel, role: '--baseline-model' }] : []),
      ...(options.evalSteering !== undefined ? [{ path: options.evalSteering, role: '--eval-steering' }] : []),
      ...[...options.forget, options.eval].map((path) => ({ path, role: 'input shard' })),
    ]);
  const model = await loadModelArgument(options.model, '--model');
  const context = options.context ?? model.config.context;
  if (context > model.config.context) throw new UsageError(`--context ${context} exceeds the model's context ${model.config.context}`);
  const contract = shardContract([...options.forget, options.eval], model);
  await checkModelsAgainstShards([options.model, ...(options.baselineModel ? [options.baselineModel] : [])], contract, options.forget[0] ?? options.eval);
  const stream = evalStream(options.eval, contract);
  if (stream.labels && !stream.labels.includes(options.forgetLabel))
    throw new UsageError(`${options.eval}: its labels side file has no token labelled ${options.forgetLabel} (--forget-label)`);
  if (options.maxTokens < options.batch * context)
    throw new UsageError(`--max-tokens ${options.maxTokens} is smaller than one batch (${options.batch} × ${context} tokens)`);
  if (options.sweepTokens !== undefined && (!options.lrSweep || options.sweepTokens > options.maxTokens))
    throw new UsageError('--sweep-tokens needs --lr-sweep and must not exceed --max-tokens');
  const evalSteering = options.evalSteering === undefined ? undefined : await steeringArgument(options.evalSteering, model);
  const evalOptions: ForgetLossOptions = { forgetLabel: options.forgetLabel, maxEvalWindows: options.maxEvalWindows };
  let targetLoss = options.targetLoss;
  if (options.baselineModel !== undefined) {
    const baseline = await loadModelArgument(options.baselineModel, '--baseline-model');
    if (baseline.config.vocabSize !== model.config.vocabSize)
      throw new UsageError(`--baseline-model has a vocabulary of ${baseline.config.vocabSize}, --model ${model.config.vocabSize}`);
    targetLoss = await forgetLoss(baseline, stream, evalOptions);
  }
  const samplers: BatchSampler[] = [];
  const batches = () => {
    const sampler = openSampler(options.forget, options.batch, context, options.seed, contract);
    samplers.push(sampler);
    return sampler;
  };
  const progress = new ProgressLine(io, 'finetune');
  const common = {
    ...evalOptions,
    targetLoss: targetLoss!,
    evalStream: stream,
    evalEvery: options.evalEvery,
    pretrainingTokens: options.pretrainingTokens,
    evalSteering,
    signal: io.signal, // Ctrl-C in the CLI (main.ts)
  };
  let sweep: LrSweepResult | null = null;
  let result: AdversarialFinetuneResult;
  try {
    io.stderr.write(`target forget loss ${targetLoss!.toFixed(4)}${options.baselineModel ? ` (baseline ${options.baselineModel})` : ''}\n`);
    if (evalSteering)
      io.stderr.write(`evaluating --model under steering from ${options.evalSteering} (${evalSteering.heads?.length ?? 0} heads, ${evalSteering.residual?.length ?? 0} residual layers; fine-tuning steps run unsteered)\n`);
    let lr = options.lr ?? FINETUNE_DEFAULT_LR;
    if (options.lrSweep) {
      const sweepTokens = options.sweepTokens ?? Math.max(options.batch * context, Math.floor(options.maxTokens / 4));
      sweep = await lrSweepFinetune(model, batches, {
        ...common,
        lrs,
        maxTokens: sweepTokens,
        onEvaluation: (p) => progress.update(p.tokens, sweepTokens, 'tokens', `loss ${p.loss.toFixed(3)}`),
      });
      progress.finish();
      for (const run of sweep.runs)
        io.stderr.write(`sweep lr ${run.lr}: ${run.diverged ? 'diverged' : run.result!.reached ? `reached after ${formatCount(run.result!.tokensToTarget!)} tokens` : `forget loss ${run.result!.finalLoss.toFixed(4)} after ${formatCount(run.result!.tokens)} tokens`}\n`);
      lr = sweep.bestLr;
      io.stderr.write(`sweep: fastest lr ${lr}\n`);
    }
    // a sweep run that reached the target is the full run (same start, batches and rate)
    result =
      sweep?.best.reached
        ? sweep.best
        : await adversarialFinetune(model, batches(), {
            ...common,
            lr,
            maxTokens: options.maxTokens,
            onEvaluation: (p) => {
              progress.update(p.tokens, options.maxTokens, 'tokens', `loss ${p.loss.toFixed(3)}`);
              if (!io.stderr.isTTY) io.stderr.write(`step ${p.step}: ${p.tokens} tokens, forget loss ${p.loss.toFixed(4)}\n`);
            },
          });
  } finally {
    progress.finish();
    for (const sampler of samplers) sampler.close();
  }
  if (options.out)
    await result.model.save(options.out, { ...(await derivedTokenizerMetadata(options.model, asRecorded(contract))), finetune_attack: JSON.stringify({ lr: result.lr, tokens: result.tokens }) });
  printAttackResult(io, options, result, sweep, targetLoss!);
  return { result, sweep, targetLoss: targetLoss! };
}

/** Prints the attack's outcome: a JSON summary with `--json`, else one line on stdout. */
function printAttackResult(io: CliIO, options: AttackCommandOptions, result: AdversarialFinetuneResult, sweep: LrSweepResult | null, targetLoss: number): void {
  const summary: Partial<AdversarialFinetuneResult> = { ...result };
  delete summary.model;
  const output = {
    command: 'finetune-attack',
    model: options.model,
    baselineModel: options.baselineModel ?? null,
    evalSteering: options.evalSteering ?? null,
    ...summary,
    sweep: sweep ? { bestLr: sweep.bestLr, runs: sweep.runs } : null,
    out: options.out ?? null,
  };
  if (options.json) writeJson(io, output);
  else if (result.reached)
    io.stdout.write(
      `reached the target forget loss ${targetLoss.toFixed(4)} after ${formatCount(result.tokensToTarget!)} tokens ` +
        `(interpolated; first evaluation at or below it: step ${result.stepsToTarget}, ${result.tokensAtTarget} tokens) at lr ${result.lr}` +
        `${result.fractionOfPretraining !== null ? `, ${(100 * result.fractionOfPretraining).toFixed(3)}% of pretraining tokens` : ''}\n`,
    );
  else
    io.stdout.write(
      `did not reach the target forget loss ${targetLoss.toFixed(4)}: ${result.startLoss.toFixed(4)} → ${result.finalLoss.toFixed(4)} ` +
        `after ${result.tokens} tokens (${result.stoppedBy}) at lr ${result.lr}\n`,
    );
}

/** Adds `finetune-attack` to the program. */
export function registerAttack(program: Command, io: CliIO): void {
  const int = (name: string, min: number, max?: number) => (v: string) => parseIntegerOption(name, v, min, max);
  program
    .command('finetune-attack')
    .description('fine-tune on forget-domain shards (AdamW, constant LR) until the forget loss reaches a target; report the tokens needed')
    .requiredOption('--model <path>', 'the model to attack (safetensors)')
    .requiredOption('--forget <shards...>', 'forget-domain token shards to fine-tune on (every token is learned from)')
    .requiredOption('--eval <shard>', 'held-out shard for the forget loss (with a .labels.side file: only --forget-label targets count)')
    .option('--target-loss <x>', 'forget loss to reach', numberOption('--target-loss', 0, 1e6))
    .option('--baseline-model <path>', "target = this (unfiltered) model's forget loss on --eval")
    .option('--lr <x>', `constant learning rate (default ${FINETUNE_DEFAULT_LR})`, numberOption('--lr', 1e-12, 10))
    .option('--lr-sweep', 'try each of --lrs on a short budget and use the fastest to recover')
    .option('--lrs <list>', `rates for --lr-sweep, comma-separated (default ${SWEEP_DEFAULT_LRS.join(',')})`)
    .option('--max-tokens <n>', 'fine-tuning token budget', int('--max-tokens', 1), 1_000_000)
    .option('--sweep-tokens <n>', 'token budget of each sweep run (default a quarter of --max-tokens)', int('--sweep-tokens', 1))
    .option('--batch <n>', 'sequences per batch (batch tokens = batch × context)', int('--batch', 1, 1 << 16), 8)
    .option('--context <n>', "sequence length (default the model's context)", int('--context', 1, 1 << 20))
    .option('--eval-every <n>', 'optimizer steps between evaluations', int('--eval-every', 1), 10)
    .option('--forget-label <n>', 'label value of the forget domain in the eval labels', int('--forget-label', 0, 254), 1)
    .option('--max-eval-windows <n>', 'score at most this many windows per evaluation (default all)', int('--max-eval-windows', 1))
    .option('--pretraining-tokens <n>', 'tokens the model was pretrained on, to report the fraction', int('--pretraining-tokens', 1))
    .option('--seed <n>', 'seed of the batch order', int('--seed', 0), 0)
    .option('--eval-steering <file>', 'JSON steering ({"heads": [{layer, head, vector}], "residual": [{layer, direction, keep}]}) kept on at every evaluation of --model (a defence at inference); training steps and --baseline-model run unsteered')
    .option('--out <path>', 'save the fine-tuned model here')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (options: AttackCommandOptions) => {
      await attackCommand(options, io);
    });
}
