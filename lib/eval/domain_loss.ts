/**
 * Per-domain loss: a model's mean next-token loss on held-out text, split by the domain label
 * of each target token (forget / retain / general), with a bootstrap confidence interval over
 * windows.
 * @module
 */
import type { Batch } from '../data/batch.js';
import type { Transformer } from '../model/transformer.js';
import { Random } from '../data/random.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** A token stream with one domain label per token (0..labelNames.length-1; others ignored). */
export interface LabelledTokens {
  tokens: Uint32Array;
  labels: Uint8Array;
}

/** Options of {@link domainLosses}. */
export interface DomainLossOptions {
  /** Name of each label value, e.g. `['general', 'medical', 'biology']`. */
  labelNames: readonly string[];
  /** Window length T (default: the model's context). */
  context?: number;
  /** Windows per forward pass (default 8). */
  batch?: number;
  /** Bootstrap resamples for the 95% interval (default 1000; 0 = none). */
  bootstrap?: number;
  /** Seed of the bootstrap resampling (default 0). */
  seed?: number;
  /** Stop after this many windows (default: all). */
  maxWindows?: number;
}

/** Loss on one domain. */
export interface DomainLoss {
  /** Mean next-token loss (nats) over the domain's target tokens. */
  loss: number;
  /** Target tokens scored. */
  tokens: number;
  /** 95% bootstrap interval of `loss` over windows (NaN when bootstrap is 0). */
  ci95: [number, number];
}

/**
 * Scores `stream` in consecutive non-overlapping windows (inputs t..t+T-1, targets t+1..t+T) and
 * averages the per-token losses by the label of each target token.
 * @throws TypeError / RangeError for mismatched lengths or bad options.
 */
export async function domainLosses(
  model: Transformer,
  stream: LabelledTokens,
  options: DomainLossOptions,
): Promise<Record<string, DomainLoss>> {
  const { tokens, labels } = stream;
  if (!(tokens instanceof Uint32Array)) throw new CodedTypeError('stream.tokens must be a Uint32Array');
  if (!(labels instanceof Uint8Array) || labels.length !== tokens.length)
    throw new CodedRangeError(`stream.labels must be a Uint8Array with one label per token (${tokens.length})`);
  const names = options.labelNames;
  if (!Array.isArray(names) || names.length === 0) throw new CodedTypeError('options.labelNames must be a non-empty array');
  const T = options.context ?? model.config.context;
  const B = options.batch ?? 8;
  const reps = options.bootstrap ?? 1000;
  if (!Number.isInteger(T) || T < 1 || T > model.config.context)
    throw new CodedRangeError(`options.context must be an integer in [1, ${model.config.context}], got ${T}`);
  if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`options.batch must be a positive integer, got ${B}`);
  if (!Number.isInteger(reps) || reps < 0) throw new CodedRangeError(`options.bootstrap must be a non-negative integer, got ${reps}`);

  let windows = Math.floor((tokens.length - 1) / T);
  if (options.maxWindows !== undefined) windows = Math.min(windows, options.maxWindows);
  const K = names.length;
  // per window, per label: loss sum and count
  const sums = new Float64Array(windows * K);
  const counts = new Float64Array(windows * K);
  for (let w0 = 0; w0 < windows; w0 += B) {
    const b = Math.min(B, windows - w0);
    const batch: Batch = {
      inputs: new Uint32Array(b * T),
      targets: new Uint32Array(b * T),
      lossMask: new Uint8Array(b * T).fill(1),
      batch: b,
      context: T,
    };
    for (let r = 0; r < b; r++) {
      const start = (w0 + r) * T;
      batch.inputs.set(tokens.subarray(start, start + T), r * T);
      batch.targets.set(tokens.subarray(start + 1, start + T + 1), r * T);
    }
    const losses = await model.tokenLosses(batch);
    for (let r = 0; r < b; r++) {
      const w = w0 + r;
      for (let t = 0; t < T; t++) {
        const label = labels[w * T + t + 1];
        if (label >= K) continue;
        sums[w * K + label] += losses[r * T + t];
        counts[w * K + label]++;
      }
    }
  }

  const out: Record<string, DomainLoss> = {};
  const rng = Random.fromState(options.seed ?? 0);
  const random = () => rng.next();
  for (let k = 0; k < K; k++) {
    let sum = 0;
    let count = 0;
    for (let w = 0; w < windows; w++) {
      sum += sums[w * K + k];
      count += counts[w * K + k];
    }
    let ci95: [number, number] = [Number.NaN, Number.NaN];
    if (reps > 0 && count > 0) {
      const means: number[] = [];
      for (let rep = 0; rep < reps; rep++) {
        let s = 0;
        let c = 0;
        for (let i = 0; i < windows; i++) {
          const w = Math.floor(random() * windows);
          s += sums[w * K + k];
          c += counts[w * K + k];
        }
        if (c > 0) means.push(s / c);
      }
      means.sort((a, b) => a - b);
      ci95 = [means[Math.floor(0.025 * (means.length - 1))], means[Math.ceil(0.975 * (means.length - 1))]];
    }
    out[names[k]] = { loss: count > 0 ? sum / count : Number.NaN, tokens: count, ci95 };
  }
  return out;
}

