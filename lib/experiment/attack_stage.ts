/**
 * The experiment's robustness stage, at the largest ladder size: RMU applied to the unfiltered
 * baseline, then an adversarial fine-tuning attack on forget-domain text against each filtered
 * model and the RMU model, until each reaches the baseline's forget loss or the token budget.
 * Each attack first sweeps constant learning rates on a short budget and keeps the fastest (as
 * the paper does). Results go to `results.extra.attacks` (and `results.extra.rmu`).
 * @module
 */
import { existsSync } from 'node:fs';
import { makeFolder } from '../data/output_path.js';
import { join } from 'node:path';
import { BatchSampler } from '../data/sampler.js';
import { writeShard } from '../data/shard.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { adversarialFinetune, forgetLoss, lrSweepFinetune, type ForgetEvalStream, type RecoveryPoint } from '../eval/adversarial_finetune.js';
import { domainLosses, type LabelledTokens } from '../eval/domain_loss.js';
import { rmu } from '../eval/rmu.js';
import { Transformer } from '../model/transformer.js';
import type { ExperimentRun } from './experiment_results.js';
import { tokenizerMetadata } from '../model/model_tokenizer.js';
import type { Steering } from '../steer/steering.js';
import { DOMAINS, FORGET_LABEL, UNLABELLED } from '../data/domains.js';

/** A model to attack: its name in the records, its file, and steering kept on while it is evaluated. */
export interface AttackTarget {
  id: string;
  modelPath: string;
  /** Inference-time steering applied at every evaluation of the attack (adversarialFinetune's evalSteering). */
  steering?: Steering;
}

/** Settings of the attack stage. */
export interface AttackSettings {
  /** Rows per attack step (× the model's context = batch tokens). */
  batch: number;
  /** Token budget of each attack, as a fraction of the model's pretraining tokens. */
  budgetFraction: number;
  /** Token budget of each rate of the learning-rate sweep, as a fraction of the attack budget. */
  sweepFraction: number;
  lrs: number[];
  evalEvery: number;
  /** RMU steps (α, c and the learning rate are the paper's). */
  rmuSteps: number;
  seed: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** One attacked model. */
export interface AttackRecord {
  model: string;
  targetLoss: number;
  startLoss: number;
  finalLoss: number;
  reached: boolean;
  tokensToTarget: number | null;
  fractionOfPretraining: number | null;
  lr: number;
  batchTokens: number;
  budgetTokens: number;
  sweep: { lr: number; diverged: boolean; reached: boolean; tokensToTarget: number | null; finalLoss: number | null }[];
  curve: RecoveryPoint[];
  /** True when the model was evaluated under steering (its defence is inference-time). */
  steered?: boolean;
}

/** The attacker's and RMU's token streams: tokens of one label set, each document ending with its separator. */
export function selectDomains(stream: LabelledTokens, keep: (label: number) => boolean): LabelledTokens {
  const { tokens, labels } = stream;
  let n = 0;
  for (let i = 0; i < tokens.length; i++) if (keep(labels[i]) || (labels[i] === UNLABELLED && i > 0 && keep(labels[i - 1]))) n++;
  const outTokens = new Uint32Array(n);
  const outLabels = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < tokens.length; i++)
    if (keep(labels[i]) || (labels[i] === UNLABELLED && i > 0 && keep(labels[i - 1]))) {
      outTokens[at] = tokens[i];
      outLabels[at++] = labels[i];
    }
  return { tokens: outTokens, labels: outLabels };
}

/**
 * Runs RMU on `baseline` and attacks every model in `targets` plus the RMU model; calls
 * `record` after each finished piece so the caller can save. Skips models already in `done`.
 */
export async function runAttacks(
  dir: string,
  tokenizer: Tokenizer,
  baseline: Pick<ExperimentRun, 'id' | 'modelPath' | 'trainTokens'>,
  targets: AttackTarget[],
  train: LabelledTokens,
  val: LabelledTokens,
  settings: AttackSettings,
  done: { attacks: Record<string, AttackRecord>; rmu?: Record<string, unknown> },
  record: () => Promise<void>,
): Promise<void> {
  await makeFolder(dir);
  const forgetShard = join(dir, 'forget.bin');
  const retainShard = join(dir, 'retain.bin');
  if (!existsSync(forgetShard)) await writeShard(forgetShard, selectDomains(train, (l) => l === FORGET_LABEL).tokens, { tokenizer });
  if (!existsSync(retainShard)) await writeShard(retainShard, selectDomains(train, (l) => l !== FORGET_LABEL && l !== UNLABELLED).tokens, { tokenizer });
  const evalStream: ForgetEvalStream = selectDomains(val, (l) => l === FORGET_LABEL);
  const base = await Transformer.load(baseline.modelPath);
  const context = base.config.context;
  const batchTokens = settings.batch * context;
  const targetLoss = await forgetLoss(base, evalStream, { forgetLabel: FORGET_LABEL });
  const sampler = (shard: string, seed: number) =>
    new BatchSampler({ shards: [shard], batch: settings.batch, context, seed, expectTokenizer: tokenizer, lossMask: 'none' });
  const batchesOf = (shard: string, seed: number) =>
    (function* () {
      const s = sampler(shard, seed);
      try {
        for (;;) yield s.next();
      } finally {
        s.close();
      }
    })();

  // RMU on the baseline
  const rmuPath = join(dir, 'rmu.safetensors');
  if (!done.rmu || !existsSync(rmuPath)) {
    settings.log(`rmu: ${settings.rmuSteps} steps on ${baseline.id}`);
    const result = await rmu(base, batchesOf(forgetShard, settings.seed), batchesOf(retainShard, settings.seed + 1), {
      steps: settings.rmuSteps, seed: settings.seed, signal: settings.signal,
      onProgress: (p) => {
        if (p.step % 100 === 0) settings.log(`  rmu step ${p.step}/${p.steps}: forget term ${p.forgetLoss.toFixed(2)}, retain term ${p.retainLoss.toFixed(4)}`);
      },
    });
    await result.model.save(rmuPath, { experiment_run: 'rmu', rmu_of: baseline.id, ...tokenizerMetadata(tokenizer) });
    const losses = await domainLosses(result.model, val, { labelNames: [...DOMAINS], bootstrap: 500, seed: settings.seed });
    const every = Math.max(1, Math.floor(result.curve.length / 50));
    done.rmu = {
      of: baseline.id, layer: result.layer, blocks: result.blocks, updatedTensors: result.updatedTensors, steps: result.steps,
      alpha: result.alpha, steeringCoefficient: result.steeringCoefficient, lr: result.lr, seed: result.seed,
      loss: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.loss])),
      ci95: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.ci95])),
      curve: result.curve.filter((_, i) => i % every === 0 || i === result.curve.length - 1),
      modelPath: rmuPath,
    };
    await record();
    settings.log(`rmu: medical ${losses.medical.loss.toFixed(4)}, biology ${losses.biology.loss.toFixed(4)}, general ${losses.general.loss.toFixed(4)}`);
  }

  const victims: [string, string, Steering | undefined][] = [...targets.map((r) => [r.id, r.modelPath, r.steering] as [string, string, Steering | undefined]), ['rmu', rmuPath, undefined]];
  const pretrainingTokens = baseline.trainTokens;
  const budget = Math.max(batchTokens, Math.floor(settings.budgetFraction * pretrainingTokens / batchTokens) * batchTokens);
  const sweepBudget = Math.max(batchTokens, Math.floor(settings.sweepFraction * budget / batchTokens) * batchTokens);
  for (const [name, path, evalSteering] of victims) {
    if (done.attacks[name]) continue;
    const model = await Transformer.load(path);
    const common = { targetLoss, evalStream, evalEvery: settings.evalEvery, pretrainingTokens, forgetLabel: FORGET_LABEL, signal: settings.signal, evalSteering };
    const sweep = await lrSweepFinetune(model, () => batchesOf(forgetShard, settings.seed + 2), { ...common, maxTokens: sweepBudget, lrs: settings.lrs });
    const attack = await adversarialFinetune(model, batchesOf(forgetShard, settings.seed + 2), {
      ...common, maxTokens: budget, lr: sweep.bestLr,
      onEvaluation: (p) => settings.log(`  attack ${name} (lr ${sweep.bestLr}): ${p.tokens} tokens, forget loss ${p.loss.toFixed(4)} (target ${targetLoss.toFixed(4)})`),
    });
    done.attacks[name] = {
      model: name, targetLoss, startLoss: attack.startLoss, finalLoss: attack.finalLoss, reached: attack.reached,
      tokensToTarget: attack.tokensToTarget, fractionOfPretraining: attack.fractionOfPretraining, lr: attack.lr,
      batchTokens: attack.batchTokens, budgetTokens: budget,
      sweep: sweep.runs.map((r) => ({ lr: r.lr, diverged: r.diverged, reached: r.result?.reached ?? false, tokensToTarget: r.result?.tokensToTarget ?? null, finalLoss: r.result?.finalLoss ?? null })),
      curve: attack.curve,
      ...(evalSteering ? { steered: true } : {}),
    };
    await record();
    settings.log(`attack ${name}: ${attack.reached ? `reached the baseline after ${Math.round(attack.tokensToTarget!)} tokens (${(100 * attack.fractionOfPretraining!).toFixed(2)}% of pretraining)` : `did not reach the baseline within ${budget} tokens (loss ${attack.finalLoss.toFixed(4)})`}`);
  }
}
