/**
 * The one batch shape every stage uses: what the batch sampler yields, what `trainMasked`
 * consumes and what `Transformer.loss` scores.
 * @module
 */
import { CodedTypeError, CodedRangeError } from '../errors.js';

/**
 * A batch of `batch` (B) sequences of `context` (T) positions, row-major [B, T].
 * `targets[i]` is the token predicted at position i (usually `inputs[i + 1]` of the same
 * stream). `lossMask[i]` is 1 where the target is learned from and 0 where it is ignored: a
 * masked target contributes nothing to the loss or to any gradient, while its input token still
 * serves as context.
 */
export interface Batch {
  /** Input token ids, length B × T. */
  inputs: Uint32Array;
  /** Target token ids, length B × T. */
  targets: Uint32Array;
  /** 1 = learn from this target, 0 = ignore it; length B × T. */
  lossMask: Uint8Array;
  /** B: sequences in the batch. */
  batch: number;
  /** T: positions per sequence. */
  context: number;
}

/**
 * Checks a batch's types, lengths and token ids against a vocabulary size.
 * @throws TypeError for a wrong type, RangeError for a wrong length or an id >= vocabSize.
 */
export function validateBatch(batch: Batch, vocabSize: number, name = 'batch'): void {
  if (batch === null || typeof batch !== 'object') throw new CodedTypeError(`${name} must be an object`);
  const { inputs, targets, lossMask, batch: B, context: T } = batch;
  if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`${name}.batch must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new CodedRangeError(`${name}.context must be a positive integer, got ${T}`);
  const n = B * T;
  const arrays: [string, unknown, string][] = [
    ['inputs', inputs, 'Uint32Array'],
    ['targets', targets, 'Uint32Array'],
    ['lossMask', lossMask, 'Uint8Array'],
  ];
  for (const [field, value, type] of arrays) {
    const ok = type === 'Uint32Array' ? value instanceof Uint32Array : value instanceof Uint8Array;
    if (!ok) throw new CodedTypeError(`${name}.${field} must be a ${type}`);
    const length = (value as Uint32Array | Uint8Array).length;
    if (length !== n)
      throw new CodedRangeError(`${name}.${field} has length ${length}, expected batch × context = ${B} × ${T} = ${n}`);
  }
  for (const [field, ids] of [['inputs', inputs], ['targets', targets]] as const) {
    for (let i = 0; i < n; i++) {
      if (ids[i] >= vocabSize)
        throw new CodedRangeError(`${name}.${field}[${i}] = ${ids[i]} is out of range for a vocabulary of ${vocabSize}`);
    }
  }
}
