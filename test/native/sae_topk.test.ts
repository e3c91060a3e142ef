// The CPU TopK competition (native.sae.topkActivation) against the JS reference on rows full of
// ties and signed zeros: the order is sae_topk_before's (larger first, ties to the lower index,
// -0 equal to +0), which the CUDA kernel shares (test/cuda/sae_device.test.ts).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { freshSeed, makeRng } from './ops/helpers.js';
import { tiedRows, topkReference } from './sae_topk_reference.js';

const seed = freshSeed();
const rng = makeRng(seed);

describe(`SAE TopK order (seed ${seed})`, () => {
  it('keeps the k largest, ties to the lower index, exactly as the reference', () => {
    for (const [N, L, k] of [[3, 10, 1], [5, 40, 7], [4, 300, 32], [2, 9, 9]]) {
      const pre = tiedRows(rng, N, L);
      const got = new Float32Array(N * L);
      native.sae.topkActivation(pre, L, k, got);
      const want = topkReference(pre, L, k);
      for (let i = 0; i < got.length; i++) expect(Object.is(got[i], want[i]), `N ${N} L ${L} k ${k} at ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
    }
  });
});
