/**
 * RMU (Representation Misdirection for Unlearning, Li et al. 2024), the unlearning baseline
 * the token-filtering paper attacks: steer a middle layer's residual stream on forget text
 * towards a fixed random direction scaled by c, keep it equal to the frozen model's on retain
 * text, updating only the MLPs of that layer and the two before it.
 * @module
 */
import { abortError } from '../abort.js';
import { validateBatch, type Batch } from '../data/batch.js';
import { seedWords, Sfc32 } from '../data/random.js';
import { Transformer } from '../model/transformer.js';
import { cloneModel, type BatchSource } from './adversarial_finetune.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import { stripUndefined } from '../options.js';

/** Options of {@link rmu}; every default is in {@link RMU_DEFAULTS}. */
export interface RmuOptions {
  /**
   * l: the hidden state steered, numbered as `Transformer.hiddenStates` (the residual stream
   * after block l, 1-based), an integer in [1, L]. Default the middle: ⌈L / 2⌉.
   */
  layer?: number;
  /** α, weight of the retain term (finite, ≥ 0). Default 100. */
  alpha?: number;
  /** c, the steering scale of the forget target c·u (finite, > 0). Default 20. */
  steeringCoefficient?: number;
  /** AdamW learning rate (finite, > 0). Default 1e-4. */
  lr?: number;
  /** Optimizer steps (integer ≥ 1); one forget and one retain batch each. Default 1000. */
  steps?: number;
  /** AdamW β1 in [0, 1). Default 0.9 (PyTorch's AdamW defaults here and below, which the RMU reference code uses). */
  beta1?: number;
  /** AdamW β2 in [0, 1). Default 0.999. */
  beta2?: number;
  /** AdamW ε > 0. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (≥ 0) on the updated MLP weights. Default 0.01. */
  weightDecay?: number;
  /** Seed of u (a non-negative safe integer). Default 0. */
  seed?: number;
  /** Update `model` itself instead of a copy. Default false (the input is left untouched). */
  inPlace?: boolean;
  /** Stops before the next step; the promise rejects with an AbortError (parameters as of the last whole step). */
  signal?: AbortSignal;
  /** After every step. */
  onProgress?: (progress: RmuPoint & { steps: number }) => void;
}

/** Defaults of {@link RmuOptions}. */
export const RMU_DEFAULTS = Object.freeze({
  alpha: 100,
  steeringCoefficient: 20,
  lr: 1e-4,
  steps: 1000,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  seed: 0,
});

/** The two terms at one step, measured before that step's update. */
export interface RmuPoint {
  /** 1 for the first step. */
  step: number;
  /** mean over forget tokens of ‖h_l − c·u‖². */
  forgetLoss: number;
  /** mean over retain tokens of ‖h_l − h_l^frozen‖² (without α). */
  retainLoss: number;
  /** forgetLoss + α · retainLoss. */
  loss: number;
}

/** What {@link rmu} did. */
export interface RmuResult {
  /** l, the steered hidden state (1-based block count, as hiddenStates numbers it). */
  layer: number;
  /** 0-based indices of the blocks whose MLPs were updated: max(0, l − 3) .. l − 1 (blocks l − 2 .. l counted from 1). */
  blocks: number[];
  /** Names of the tensors updated (`blocks.{i}.mlp.fc.weight`, `blocks.{i}.mlp.proj.weight`). */
  updatedTensors: string[];
  /** Steps run (fewer than asked when a batch source ended). */
  steps: number;
  /** Both terms at every step. */
  curve: RmuPoint[];
  /** Seed of u. */
  seed: number;
  /** u itself (unit norm, length d_model). */
  u: Float32Array;
  /** α, c and the learning rate used. */
  alpha: number;
  steeringCoefficient: number;
  lr: number;
  /** The unlearned model: a copy unless `inPlace`. */
  model: Transformer;
}

const KNOWN = new Set(['layer', 'alpha', 'steeringCoefficient', 'lr', 'steps', 'beta1', 'beta2', 'eps', 'weightDecay', 'seed', 'inPlace', 'signal', 'onProgress']);

function finite(value: unknown, name: string, ok: (x: number) => boolean, range: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CodedTypeError(`${name} must be a finite number, got ${String(value)}`);
  if (!ok(value)) throw new CodedRangeError(`${name} must be ${range}, got ${value}`);
  return value;
}

/**
 * The fixed random direction u: entries drawn uniformly from [0, 1) (as the RMU paper and code
 * do, so u lies in the positive orthant) from `seed`, then scaled to unit L2 norm.
 */
export function rmuDirection(dModel: number, seed: number): Float32Array {
  const [lo, hi] = seedWords(seed);
  const rng = new Sfc32(lo, hi, 0x524d55);
  const u = Float64Array.from({ length: dModel }, () => rng.nextUnit());
  const norm = Math.hypot(...u);
  return Float32Array.from(u, (x) => x / norm);
}

/** The MLP weight tensors (fc, proj) of the given 0-based blocks: where they live in the parameter block. */
function mlpTensors(model: Transformer, blocks: number[]) {
  const names = blocks.flatMap((b) => [`blocks.${b}.mlp.fc.weight`, `blocks.${b}.mlp.proj.weight`]);
  const table = new Map(model.tensorInfo().map((t) => [t.name, t]));
  return names.map((name) => {
    const t = table.get(name);
    if (!t) throw new TokenfilterError('E_STATE', `the model has no tensor '${name}'`);
    return t;
  });
}

/**
 * Runs RMU on `model` (a copy unless `inPlace`): each step draws one batch from `forget` and
 * one from `retain` (only their `inputs` are used, every position counts) and minimises
 *
 *   L = mean_forget ‖h_l(x_f) − c·u‖² + α · mean_retain ‖h_l(x_r) − h_l^frozen(x_r)‖²
 *
 * where h_l is the residual stream after block l, u = {@link rmuDirection}(d_model, seed) and
 * h^frozen is the model before RMU. Normalisation: each term is the MEAN OVER TOKENS of the
 * squared L2 norm over the d_model dimension, as the RMU paper writes it. (The RMU reference
 * code calls mse_loss, which also divides by d_model; that constant factor scales both terms
 * alike, so α keeps its meaning, and AdamW is invariant to it up to ε.)
 *
 * Gradients come from {@link Transformer.hiddenStateBackward}; AdamW (bias-corrected, decoupled
 * weight decay, no clipping) runs in TypeScript over the slices of the MLP weights
 * (`mlp.fc`, `mlp.proj`) of blocks l − 2 .. l counted from 1 (0-based tensor indices
 * max(0, l − 3) .. l − 1); every other parameter stays bit-identical. Each step runs the
 * forward pass to layer l twice per batch (hidden state, then its backward) plus once on the
 * frozen model for the retain batch.
 * @throws TypeError / RangeError for bad options or batches (naming them), AbortError on `signal`.
 */
export async function rmu(model: Transformer, forget: BatchSource, retain: BatchSource, options: RmuOptions = {}): Promise<RmuResult> {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN.has(key)) throw new CodedTypeError(`unknown RMU option '${key}' (known: ${[...KNOWN].join(', ')})`);
  const o = { ...RMU_DEFAULTS, ...stripUndefined(options) } as typeof RMU_DEFAULTS & RmuOptions;
  const L = model.config.layers;
  const layer = o.layer ?? Math.ceil(L / 2);
  if (!Number.isInteger(layer) || layer < 1 || layer > L) throw new CodedRangeError(`layer must be an integer in [1, ${L}], got ${String(layer)}`);
  const alpha = finite(o.alpha, 'alpha', (x) => x >= 0, '≥ 0');
  const c = finite(o.steeringCoefficient, 'steeringCoefficient', (x) => x > 0, '> 0');
  const lr = finite(o.lr, 'lr', (x) => x > 0, '> 0');
  const steps = finite(o.steps, 'steps', (x) => Number.isInteger(x) && x >= 1, 'an integer ≥ 1');
  const beta1 = finite(o.beta1, 'beta1', (x) => x >= 0 && x < 1, 'in [0, 1)');
  const beta2 = finite(o.beta2, 'beta2', (x) => x >= 0 && x < 1, 'in [0, 1)');
  const eps = finite(o.eps, 'eps', (x) => x > 0, '> 0');
  const weightDecay = finite(o.weightDecay, 'weightDecay', (x) => x >= 0, '≥ 0');
  const u = rmuDirection(model.config.dModel, o.seed);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new CodedTypeError('onProgress must be a function');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new CodedTypeError('signal must be an AbortSignal');
  const forgetIt = iteratorOf(forget, 'forget');
  const retainIt = iteratorOf(retain, 'retain');
  if (o.signal?.aborted) throw abortError('RMU');

  const blocks: number[] = [];
  for (let b = Math.max(0, layer - 3); b <= layer - 1; b++) blocks.push(b);
  const target = o.inPlace ? model : cloneModel(model);
  const frozen = o.inPlace ? cloneModel(model) : model;
  const tensors = mlpTensors(target, blocks);
  const params = target.getParameters();
  const moments = tensors.map((t) => ({ m: new Float32Array(t.size), v: new Float32Array(t.size) }));
  const C = model.config.dModel;
  const curve: RmuPoint[] = [];
  try {
    for (let step = 1; step <= steps; step++) {
      if (o.signal?.aborted) throw abortError('RMU');
      const f = await forgetIt.next();
      const r = await retainIt.next();
      if (f.done || r.done) break;
      validateBatch(f.value, model.config.vocabSize, `forget batch ${step}`);
      validateBatch(r.value, model.config.vocabSize, `retain batch ${step}`);
      const fShape = { batch: f.value.batch, context: f.value.context };
      const rShape = { batch: r.value.batch, context: r.value.context };

      // forget: d/dh mean_t ‖h_t − c·u‖² = 2 (h_t − c·u) / N_f
      const hf = await target.hiddenStates(f.value.inputs, layer, fShape);
      const { loss: forgetLoss, grad: df } = meanSquaredDistance(hf, (i) => c * u[i % C], 1, C);
      // retain: α · d/dh mean_t ‖h_t − h_t^frozen‖² = 2α (h_t − h_t^frozen) / N_r
      const hr = await target.hiddenStates(r.value.inputs, layer, rShape);
      const hz = await frozen.hiddenStates(r.value.inputs, layer, rShape);
      const { loss: retainLoss, grad: dr } = meanSquaredDistance(hr, (i) => hz[i], alpha, C);

      target.zeroGradients();
      await target.hiddenStateBackward(f.value.inputs, layer, df, fShape);
      await target.hiddenStateBackward(r.value.inputs, layer, dr, rShape);
      adamwOnSlices(params, target.getGradients(), tensors, moments, step, { lr, beta1, beta2, eps, weightDecay });
      target.setParameters(params);
      const point = { step, forgetLoss, retainLoss, loss: forgetLoss + alpha * retainLoss };
      curve.push(point);
      o.onProgress?.({ ...point, steps });
    }
  } finally {
    await forgetIt.return?.();
    await retainIt.return?.();
  }
  return {
    layer,
    blocks,
    updatedTensors: tensors.map((t) => t.name),
    steps: curve.length,
    curve,
    seed: o.seed,
    u,
    alpha,
    steeringCoefficient: c,
    lr,
    model: target,
  };
}

/**
 * Mean over the N = h.length / C rows of ‖h_t − target_t‖² and its gradient scaled by `weight`:
 * grad_i = 2·weight·(h_i − target(i)) / N. h: [N, C] flattened; target(i) gives element i's target.
 */
function meanSquaredDistance(h: Float32Array, target: (i: number) => number, weight: number, C: number): { loss: number; grad: Float32Array } {
  const n = h.length / C;
  const grad = new Float32Array(h.length);
  let loss = 0;
  for (let i = 0; i < h.length; i++) {
    const e = h[i] - target(i);
    loss += e * e;
    grad[i] = (2 * weight * e) / n;
  }
  return { loss: loss / n, grad };
}

/** One bias-corrected AdamW step (decoupled weight decay, no clipping) over the given slices of `params`, in place. */
function adamwOnSlices(
  params: Float32Array,
  grads: Float32Array,
  tensors: readonly { offset: number; size: number }[],
  moments: readonly { m: Float32Array; v: Float32Array }[],
  step: number,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
): void {
  const correction1 = 1 - h.beta1 ** step;
  const correction2 = 1 - h.beta2 ** step;
  tensors.forEach((t, k) => {
    const { m, v } = moments[k];
    for (let i = 0; i < t.size; i++) {
      const j = t.offset + i;
      const g = grads[j];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
      const p = params[j] * (1 - h.lr * h.weightDecay);
      params[j] = p - (h.lr * (m[i] / correction1)) / (Math.sqrt(v[i] / correction2) + h.eps);
    }
  });
}

function iteratorOf(source: BatchSource, name: string): AsyncIterator<Batch> | Iterator<Batch> {
  const s = source as Partial<AsyncIterable<Batch> & Iterable<Batch>>;
  if (s !== null && typeof s === 'object' && typeof s[Symbol.asyncIterator] === 'function') return s[Symbol.asyncIterator]!();
  if (s !== null && typeof s === 'object' && typeof s[Symbol.iterator] === 'function') return s[Symbol.iterator]!();
  throw new CodedTypeError(`${name} must be an iterable or async iterable of batches`);
}
