// The CPU TopK competition (native.sae.topkActivation) against the JS reference on rows full of
// ties and signed zeros: the order is sae_topk_before's (larger first, ties to the lower index,
// -0 equal to +0), which the CUDA kernel shares (test/cuda/sae_device.test.ts). And the CUDA
// kernel's algorithm (radix select + index-ordered rank scan) run on the host through the same
// math (_saeTopkEmulate), bit for bit the same, with rows spanning several 256-wide chunks.
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

  it("the CUDA kernel's radix select, emulated on the host, gives the same codes", () => {
    for (const [N, L, k] of [[3, 10, 1], [4, 300, 32], [2, 1000, 999], [3, 777, 100], [2, 600, 600]]) {
      const pre = tiedRows(rng, N, L);
      // half the rows continuous values, so all 4 radix passes split something
      for (let i = 0; i < pre.length; i += 2) pre[i] += rng.normal() * 1e-3;
      const got = Float32Array.from(pre);
      native._saeTopkEmulate(got, L, k);
      const want = topkReference(pre, L, k);
      for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) expect.fail(`N ${N} L ${L} k ${k} at ${i}: ${got[i]} vs ${want[i]}`);
    }
  });
});
