// SAE encoding on the device against the CPU encoder (native.sae.encodeSelected): JumpReLU
// thresholds, plain ReLU (threshold 0) and the TopK pre-activations (threshold -inf), with an
// input scale; fp32 within atol 1e-5·√D, bf16 within 3e-2·√D; a non-finite input is reported.
import { expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { expectClose, freshSeed, makeRng, randn } from '../native/ops/helpers.js';
import { describeCuda, gpuOps } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);

describeCuda(`CUDA SAE encoding vs CPU (seed ${seed})`, () => {
  it('matches the CPU codes for JumpReLU, ReLU and pass-through thresholds (fp32 and bf16)', async () => {
    const N = 70, D = 96, S = 130;
    const x = randn(rng, N * D), w = randn(rng, D * S, 0.1), b = randn(rng, S, 0.1);
    const thresholds = [Float32Array.from(randn(rng, S, 0.2), Math.abs), new Float32Array(S), new Float32Array(S).fill(-Infinity)];
    for (const threshold of thresholds) {
      const cpu = new Float32Array(N * S);
      await native.sae.encodeSelected(x, D, 0.7, w, b, threshold, cpu);
      for (const [precision, atol] of [['fp32', 1e-5], ['bf16', 3e-2]] as const) {
        const gpu = new Float32Array(N * S);
        expect(gpuOps.saeEncodeSelected(x, D, 0.7, w, b, threshold, gpu, precision)).toBe(true);
        // a pre-activation within rounding of its threshold may land on either side: such entries
        // (one side zero, the other within the tolerance of the threshold) are left out
        const keep: number[] = [], want: number[] = [];
        for (let i = 0; i < N * S; i++) {
          const t = threshold[i % S];
          const margin = Math.min(Math.abs(cpu[i] - t), Math.abs(gpu[i] - t));
          if ((cpu[i] === 0) !== (gpu[i] === 0) && margin < atol * Math.sqrt(D) * 2) continue;
          keep.push(gpu[i]);
          want.push(cpu[i]);
        }
        expect(keep.length).toBeGreaterThan(N * S * 0.95);
        expectClose(keep, want, { atol: atol * Math.sqrt(D), rtol: 0 }, `${precision} threshold ${threshold[0]}`);
      }
    }
  });

  it('reports a non-finite pre-activation', () => {
    const D = 8, S = 4;
    const x = new Float32Array(2 * D).fill(1);
    x[3] = Number.NaN;
    const out = new Float32Array(2 * S);
    expect(gpuOps.saeEncodeSelected(x, D, 1, new Float32Array(D * S), new Float32Array(S), new Float32Array(S), out, 'fp32')).toBe(false);
  });
});
