// The labelling rule on hand-built activation matrices with known answers, plus a brute-force
// fixed-point reference on random matrices, and bad inputs.
import { describe, expect, it } from 'vitest';
import { labelTokens, labelTokensWithEot } from '../../../lib/label/label_tokens.js';

/** The rule applied literally: seeds, then propagation repeated until nothing changes. */
function reference(acts: Float32Array, T: number, S: number, mean: number[], std: number[], z: number, minLatents: number, cut: (t: number) => boolean, blocked: (t: number) => boolean): Uint8Array {
  const out = new Uint8Array(T);
  const positive = (t: number) => { for (let s = 0; s < S; s++) if (acts[t * S + s] > 0) return true; return false; };
  for (let t = 0; t < T; t++) {
    let above = 0;
    for (let s = 0; s < S; s++) if (acts[t * S + s] > mean[s] + z * std[s]) above++;
    out[t] = !blocked(t) && above >= minLatents ? 1 : 0;
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let t = 0; t < T; t++) {
      if (out[t] || blocked(t) || !positive(t)) continue;
      const left = t > 0 && out[t - 1] && !cut(t) && !blocked(t - 1);
      const right = t + 1 < T && out[t + 1] && !cut(t + 1) && !blocked(t + 1);
      if (left || right) { out[t] = 1; changed = true; }
    }
  }
  return out;
}

/** rows: per token, the activations of each latent. */
function matrix(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

const stats = { mean: [0, 0], std: [1, 1] };

describe('labelTokens', () => {
  it('seeds need minLatents latents above mean + z·std', () => {
    const acts = matrix([[5, 5], [5, 0], [4.5, 4.1], [3.9, 9], [0, 0]]);
    expect([...labelTokens(acts, { tokens: 5, latents: 2, ...stats, z: 4, minLatents: 2 })]).toEqual([1, 1, 1, 1, 0]);
    // token 1 joins by propagation (positive, next to token 0); token 3 is positive next to 2
    const isolated = matrix([[5, 5], [0, 0], [5, 0], [0, 0], [4.5, 4.1]]);
    expect([...labelTokens(isolated, { tokens: 5, latents: 2, ...stats })]).toEqual([1, 0, 0, 0, 1]);
    expect([...labelTokens(isolated, { tokens: 5, latents: 2, ...stats, minLatents: 1 })]).toEqual([1, 0, 1, 0, 1]);
  });

  it('propagates over many steps, in both directions, through positive tokens only', () => {
    const acts = matrix([[0, 0], [0.1, 0], [0, 0.2], [0.3, 0], [6, 6], [0, 0.01], [0.5, 0], [0, 0], [1, 1]]);
    expect([...labelTokens(acts, { tokens: 9, latents: 2, ...stats })]).toEqual([0, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('uses per-latent mean and std', () => {
    const acts = matrix([[12, 1], [12, 3.5]]);
    expect([...labelTokens(acts, { tokens: 2, latents: 2, mean: [2, 1], std: [2, 0.5], z: 4, minLatents: 2 })]).toEqual([1, 1]); // token 0 passes one latent only, joins by propagation
    expect([...labelTokens(matrix([[12, 1], [0, 0], [12, 3.5]]), { tokens: 3, latents: 2, mean: [2, 1], std: [2, 0.5], z: 4, minLatents: 2 })]).toEqual([0, 0, 1]);
  });

  it('does not propagate across document boundaries', () => {
    const acts = matrix([[1, 0], [1, 0], [9, 9], [1, 0], [1, 0], [1, 0]]);
    expect([...labelTokens(acts, { tokens: 6, latents: 2, ...stats, boundaries: [0, 2, 4] })]).toEqual([0, 0, 1, 1, 0, 0]);
    expect([...labelTokens(acts, { tokens: 6, latents: 2, ...stats, boundaries: [3] })]).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('labelTokensWithEot: <|endoftext|> is never labelled and blocks propagation', () => {
    const acts = matrix([[1, 0], [9, 9], [2, 2], [1, 0], [1, 1]]);
    const ids = Uint32Array.from([5, 6, 7, 0, 8]);
    expect([...labelTokensWithEot(acts, ids, 7, { tokens: 5, latents: 2, ...stats })]).toEqual([1, 1, 0, 0, 0]);
    const seedOnEot = matrix([[1, 0], [9, 9], [1, 1]]);
    expect([...labelTokensWithEot(seedOnEot, Uint32Array.from([1, 7, 1]), 7, { tokens: 3, latents: 2, ...stats })]).toEqual([0, 0, 0]);
  });

  it('matches the literal fixed-point rule on random matrices with boundaries', () => {
    let state = 12345;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 200; trial++) {
      const T = 1 + Math.floor(rand() * 60);
      const S = 1 + Math.floor(rand() * 4);
      const acts = Float32Array.from({ length: T * S }, () => (rand() < 0.5 ? 0 : rand() < 0.85 ? rand() : 5 + rand()));
      const mean = Array.from({ length: S }, () => rand());
      const std = Array.from({ length: S }, () => 0.5 + rand());
      const boundaries = Array.from({ length: T }, (_, t) => t).filter(() => rand() < 0.1);
      const minLatents = 1 + Math.floor(rand() * S);
      const got = labelTokens(acts, { tokens: T, latents: S, mean, std, z: 2, minLatents, boundaries });
      const set = new Set(boundaries);
      expect([...got]).toEqual([...reference(acts, T, S, mean, std, 2, minLatents, (t) => set.has(t), () => false)]);
      const ids = Uint32Array.from({ length: T }, () => (rand() < 0.1 ? 0 : 1));
      const withEot = labelTokensWithEot(acts, ids, 0, { tokens: T, latents: S, mean, std, z: 2, minLatents });
      expect([...withEot]).toEqual([...reference(acts, T, S, mean, std, 2, minLatents, () => false, (t) => ids[t] === 0)]);
    }
  });

  it('refuses bad inputs with clear errors', () => {
    const acts = matrix([[1, 0], [9, 9]]);
    expect(() => labelTokens(acts, { tokens: 3, latents: 2, ...stats })).toThrow(/activations has length 4, expected tokens × latents = 3 × 2/);
    expect(() => labelTokens(acts, { tokens: 2, latents: 2, mean: [0], std: [1, 1] })).toThrow(/mean has length 1/);
    expect(() => labelTokens(matrix([[1, Number.NaN], [0, 0]]), { tokens: 2, latents: 2, ...stats })).toThrow(/activations.*(NaN|finite|index 1)/i);
    expect(() => labelTokens(acts, { tokens: 2, latents: 2, ...stats, boundaries: [5] })).toThrow(/boundaries\[0\] = 5/);
    expect(() => labelTokens(acts, { tokens: 2, latents: 2, ...stats, z: Number.NaN })).toThrow(/z must be a finite number/);
    expect(() => labelTokens(acts, { tokens: 2, latents: 2, ...stats, minLatents: 0 })).toThrow(/minLatents/);
    expect(() => labelTokensWithEot(acts, Uint32Array.from([1]), 0, { tokens: 2, latents: 2, ...stats })).toThrow(/tokenIds has length 1/);
  });
});
