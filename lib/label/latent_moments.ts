/**
 * Streaming per-latent mean and standard deviation over a corpus (Welford within a block,
 * Chan's pairwise merge across blocks, threads, shards or machines), in float64.
 * @module
 */
import { native } from '../native.js';
import { CodedRangeError } from '../errors.js';

/** Running count, mean and sum of squared deviations of S latents. */
export class LatentMoments {
  /** Tokens seen. */
  count = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean. */
  readonly m2: Float64Array;

  /** @throws RangeError unless latents is a positive integer. */
  constructor(readonly latents: number) {
    if (!Number.isInteger(latents) || latents < 1) throw new CodedRangeError(`latents must be a positive integer, got ${latents}`);
    this.mean = new Float64Array(latents);
    this.m2 = new Float64Array(latents);
  }

  /**
   * Adds a block of activations [T, latents].
   * @throws RangeError for a length that is not a multiple of latents or a NaN/inf value.
   */
  update(activations: Float32Array): this {
    this.count = native.sae.latentMoments(activations, this.latents, this.count, this.mean, this.m2);
    return this;
  }

  /** Merges another accumulator over the same latents into this one (Chan et al.). */
  merge(other: LatentMoments): this {
    if (other.latents !== this.latents) throw new CodedRangeError(`cannot merge moments of ${other.latents} latents into ${this.latents}`);
    if (other.count === 0) return this;
    const n = this.count + other.count;
    for (let s = 0; s < this.latents; s++) {
      const delta = other.mean[s] - this.mean[s];
      this.mean[s] += (delta * other.count) / n;
      this.m2[s] += other.m2[s] + (delta * delta * this.count * other.count) / n;
    }
    this.count = n;
    return this;
  }

  /** Population standard deviation per latent (0 before any data). */
  std(): Float32Array {
    const out = new Float32Array(this.latents);
    if (this.count > 0) for (let s = 0; s < this.latents; s++) out[s] = Math.sqrt(this.m2[s] / this.count);
    return out;
  }

  /** Mean per latent as float32. */
  meanF32(): Float32Array {
    return Float32Array.from(this.mean);
  }
}
