/**
 * Inference-time steering of a {@link Transformer} (Li et al. 2025): shift chosen attention
 * heads' outputs along probe directions (ITI), or remove (scale) the component of the residual
 * stream along a layer's probe direction. Both run natively inside the forward pass (the head
 * shift inside the attention op, before the output projection) and apply to `logits`,
 * `hiddenStates`, `headOutputs`, `loss` / `tokenLosses` and `generate`; training refuses to run
 * while steering is set.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import type { Transformer } from '../model/transformer.js';

/** Add `vector` to head `head`'s output in block `layer` (length: the head size). */
export interface HeadIntervention {
  layer: number;
  head: number;
  vector: ArrayLike<number>;
}

/**
 * Scale the residual stream's component along `direction` (normalised here) at hidden-state
 * layer `layer` (0 = embeddings, l = after block l) by `keep` (default 0: remove it).
 */
export interface ResidualIntervention {
  layer: number;
  direction: ArrayLike<number>;
  keep?: number;
}

/** What to steer; an empty object or null steers nothing. */
export interface Steering {
  heads?: readonly HeadIntervention[];
  residual?: readonly ResidualIntervention[];
}

function optionError(message: string): TokenfilterError {
  return new TokenfilterError('E_OPTION', message);
}

function checkIndex(value: number, limit: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= limit) throw optionError(`${what} = ${value} is out of range [0, ${limit - 1}]`);
}

function checkVector(v: ArrayLike<number>, length: number, what: string): void {
  if (v === null || typeof v !== 'object' || typeof v.length !== 'number') throw optionError(`${what} must be an array of numbers`);
  if (v.length !== length) throw optionError(`${what} has length ${v.length}, expected ${length}`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw optionError(`${what}[${i}] = ${v[i]} is not finite`);
}

/** The head-shift block [L, C] for `heads` (several interventions on one head add up). */
export function headShiftBlock(model: Transformer, heads: readonly HeadIntervention[]): Float32Array {
  const { layers, dModel, heads: NH } = model.config;
  const hs = dModel / NH;
  const shift = new Float32Array(layers * dModel);
  heads.forEach((h, i) => {
    checkIndex(h.layer, layers, `heads[${i}].layer`);
    checkIndex(h.head, NH, `heads[${i}].head`);
    checkVector(h.vector, hs, `heads[${i}].vector`);
    const at = h.layer * dModel + h.head * hs;
    for (let d = 0; d < hs; d++) shift[at + d] += h.vector[d];
  });
  return shift;
}

/** Unit directions [(L+1), C] and keep factors [L+1] for `residual`. */
export function residualBlock(model: Transformer, residual: readonly ResidualIntervention[]): { directions: Float32Array; keep: Float32Array } {
  const { layers, dModel } = model.config;
  const directions = new Float32Array((layers + 1) * dModel);
  const keep = new Float32Array(layers + 1).fill(1);
  const seen = new Set<number>();
  residual.forEach((r, i) => {
    checkIndex(r.layer, layers + 1, `residual[${i}].layer`);
    if (seen.has(r.layer)) throw optionError(`residual[${i}].layer = ${r.layer} is given twice`);
    seen.add(r.layer);
    checkVector(r.direction, dModel, `residual[${i}].direction`);
    const k = r.keep ?? 0;
    if (!(k >= 0 && k <= 1)) throw optionError(`residual[${i}].keep = ${k} must be in [0, 1]`);
    let norm = 0;
    for (let c = 0; c < dModel; c++) norm += r.direction[c] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) throw optionError(`residual[${i}].direction is all zero`);
    for (let c = 0; c < dModel; c++) directions[r.layer * dModel + c] = r.direction[c] / norm;
    keep[r.layer] = k;
  });
  return { directions, keep };
}

/**
 * Sets (or with null clears) the model's steering. Replaces any steering set before.
 * @throws TokenfilterError E_OPTION for a layer or head out of range, a vector of the wrong
 *   length, a non-finite value or keep outside [0, 1] (nothing is changed then).
 */
export function setSteering(model: Transformer, steering: Steering | null): void {
  if (steering !== null && (typeof steering !== 'object' || Array.isArray(steering))) throw optionError('steering must be an object or null');
  const known = new Set(['heads', 'residual']);
  for (const key of Object.keys(steering ?? {})) if (!known.has(key)) throw optionError(`unknown steering option '${key}' (expected heads or residual)`);
  const heads = steering?.heads ?? [];
  const residual = steering?.residual ?? [];
  const shift = heads.length > 0 ? headShiftBlock(model, heads) : null;
  const resid = residual.length > 0 ? residualBlock(model, residual) : null;
  model.setSteeringBlocks(shift, resid);
}

/**
 * The ITI shift of one head: `alpha` × `std` along the unit vector of `direction` (the probe's
 * weights over the head's output; `std` = the standard deviation of head outputs projected on it).
 */
export function itiVector(direction: ArrayLike<number>, std: number, alpha: number): Float32Array {
  if (!Number.isFinite(alpha)) throw optionError(`alpha = ${alpha} is not finite`);
  if (!(std >= 0) || !Number.isFinite(std)) throw optionError(`std = ${std} must be a finite number >= 0`);
  let norm = 0;
  for (let i = 0; i < direction.length; i++) norm += direction[i] ** 2;
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) throw optionError('direction must be finite and not all zero');
  return Float32Array.from(direction, (v) => (alpha * std * v) / norm);
}
