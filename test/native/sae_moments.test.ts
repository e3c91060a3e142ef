// Streaming per-latent mean and std (Welford blocks + Chan merge) against a two-pass float64
// reference: relative error 1e-9 for the mean and 1e-6 for the std, including data with a
// large offset (1e4) where the naive sum-of-squares formula loses every digit in float32.
import { describe, expect, it } from 'vitest';
import { LatentMoments } from '../../lib/label/latent_moments.js';

function twoPass(blocks: Float32Array[], S: number): { mean: number[]; std: number[] } {
  const rows = blocks.flatMap((b) => Array.from({ length: b.length / S }, (_, t) => b.subarray(t * S, (t + 1) * S)));
  const mean = Array.from({ length: S }, (_, s) => rows.reduce((a, r) => a + r[s], 0) / rows.length);
  const std = Array.from({ length: S }, (_, s) => Math.sqrt(rows.reduce((a, r) => a + (r[s] - mean[s]) ** 2, 0) / rows.length));
  return { mean, std };
}

describe('LatentMoments', () => {
  it('matches a two-pass reference over blocks of many sizes, and merges like one stream', () => {
    let state = 7;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const S = 5;
    const blocks = [1, 3000, 17, 2500, 0].map((T) => Float32Array.from({ length: T * S }, (_, i) => (i % S === 4 ? 1e4 + rand() : rand() < 0.9 ? 0 : 10 * rand())));
    const whole = new LatentMoments(S);
    for (const b of blocks) whole.update(b);
    const left = new LatentMoments(S).update(blocks[0]).update(blocks[1]);
    const right = new LatentMoments(S).update(blocks[2]).update(blocks[3]);
    left.merge(right).merge(new LatentMoments(S));
    const ref = twoPass(blocks, S);
    for (const m of [whole, left]) {
      expect(m.count).toBe(5518);
      const std = m.std();
      for (let s = 0; s < S; s++) {
        expect(Math.abs(m.mean[s] - ref.mean[s])).toBeLessThan(1e-9 * Math.abs(ref.mean[s]) + 1e-12);
        expect(Math.abs(std[s] - ref.std[s])).toBeLessThan(1e-6 * ref.std[s]);
      }
    }
  });

  it('refuses shape mismatches and NaN', () => {
    const m = new LatentMoments(3);
    expect(() => m.update(new Float32Array(4))).toThrow(/activations has length 4, not a multiple of latents = 3/);
    expect(() => m.update(Float32Array.from([0, Number.NaN, 0]))).toThrow(/activations.*index 1/);
    expect(() => m.merge(new LatentMoments(2))).toThrow(/2 latents into 3/);
  });
});
