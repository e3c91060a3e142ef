// SparseAutoencoder.encode on the device (toDevice({ device: 'cuda' }): CudaSaeEncoder, the
// GEMM + JumpReLU epilogue and the TopK kernel) against the same SAE on the CPU, on fresh
// random SAEs and inputs:
// - the TopK competition exactly (bit for bit) on pre-activations the GEMM computes exactly
//   (one-hot x, fp32), rows full of ties and signed zeros, L across several 256-wide chunks;
// - JumpReLU and TopK codes of every latent, and a selected subset, within atol·√D (fp32 1e-5,
//   tf32 2e-3, bf16 3e-2; inputs of unit scale), leaving out entries that rounding may put on
//   the other side of a threshold or of the row's k-th largest value;
// - a non-finite input rejected with E_NOT_FINITE, as on the CPU.
import { expect, it } from 'vitest';
import { isTokenfilterError } from '../../lib/errors.js';
import { SparseAutoencoder } from '../../lib/label/sae.js';
import { freshSeed, makeRng, randn } from '../native/ops/helpers.js';
import { tiedRows, topkReference } from '../native/sae_topk_reference.js';
import { describeCuda } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const ATOL = { fp32: 1e-5, tf32: 2e-3, bf16: 3e-2 } as const;

// Codes of both devices compared; entries within `margin` of their row's cut (threshold, or the
// k-th largest pre-activation for TopK) may differ in being zero and are left out.
function compare(cpu: Float32Array, gpu: Float32Array, S: number, cut: (row: number, s: number) => number, tol: number, label: string): void {
  let kept = 0, worst = 0, at = -1;
  for (let i = 0; i < cpu.length; i++) {
    const near = Math.abs(Math.max(cpu[i], gpu[i]) - cut(Math.floor(i / S), i % S)) <= 2 * tol;
    if ((cpu[i] === 0) !== (gpu[i] === 0) && near) continue;
    kept++;
    const err = Math.abs(cpu[i] - gpu[i]);
    if (!(err <= worst)) [worst, at] = [err, i];
  }
  expect(kept, `${label}: entries compared`).toBeGreaterThan(cpu.length * 0.95);
  if (!(worst <= tol)) expect.fail(`${label}: worst index ${at}: gpu ${gpu[at]}, cpu ${cpu[at]} (|error| ${worst} > ${tol})`);
}

// The k-th largest value of each row of codes (TopK: the smallest kept, else 0).
function kthOfRows(codes: Float32Array, S: number): Float32Array {
  const cut = new Float32Array(codes.length / S);
  for (let r = 0; r < cut.length; r++) {
    let m = Infinity;
    for (let s = 0; s < S; s++) if (codes[r * S + s] > 0) m = Math.min(m, codes[r * S + s]);
    cut[r] = m === Infinity ? 0 : m;
  }
  return cut;
}

describeCuda(`CUDA SAE encoding through SparseAutoencoder (seed ${seed})`, () => {
  it('TopK competition: bit for bit the CPU order (ties to the lower index, -0 = +0)', async () => {
    for (const [R, L, k] of [[6, 1000, 1], [5, 3000, 32], [4, 256, 256], [3, 777, 100]]) {
      const sae = SparseAutoencoder.create({ dModel: R, dSae: L, kind: 'topk', k, seed: 1 });
      const lay = sae.layout;
      const values = tiedRows(rng, R, L); // W_enc [R, L]: row r is the pre-activation row of one-hot x_r
      sae.parameters.set(values, lay.wEnc);
      sae.parameters.fill(0, lay.bEnc, lay.bEnc + L);
      sae.inputScale = 1;
      const x = new Float32Array(R * R);
      for (let r = 0; r < R; r++) x[r * R + r] = 1;
      const want = topkReference(values, L, k);
      const gpu = await sae.toDevice({ device: 'cuda', precision: 'fp32' }).encode(x);
      for (let i = 0; i < want.length; i++) if (!Object.is(gpu[i], want[i])) expect.fail(`R ${R} L ${L} k ${k}: index ${i}: gpu ${gpu[i]}, want ${want[i]}`);
    }
  });

  for (const precision of ['fp32', 'tf32', 'bf16'] as const) {
    it(`${precision}: JumpReLU and TopK codes of every latent and of a subset match the CPU (atol ${ATOL[precision]}·√D)`, async () => {
      const N = 300, D = 64, L = 520;
      const x = randn(rng, N * D);
      for (const kind of ['jumprelu', 'topk'] as const) {
        const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 24, seed: 7, initialThreshold: 0.3 });
        const tol = ATOL[precision] * Math.sqrt(D);
        const subset = sae.encoderFor([3, 17, 200, 519, 64]);
        const cpuAll = await sae.toDevice({ device: 'cpu' }).encode(x);
        const cpuSub = await sae.encode(x, subset);
        sae.toDevice({ device: 'cuda', precision });
        const gpuAll = await sae.encode(x);
        const gpuSub = await sae.encode(x, subset);
        const th = sae.parameters.subarray(sae.layout.threshold, sae.layout.threshold + L);
        const kth = kthOfRows(cpuAll, L);
        const cutAll = kind === 'topk' ? (r: number) => kth[r] : (_: number, s: number) => th[s];
        compare(cpuAll, gpuAll, L, cutAll, tol, `${precision} ${kind} all latents`);
        compare(cpuSub, gpuSub, 5, (_, s) => subset.threshold[s], tol, `${precision} ${kind} subset`);
      }
    });
  }

  it('rejects a non-finite input with E_NOT_FINITE, as the CPU does', async () => {
    const sae = SparseAutoencoder.create({ dModel: 8, dSae: 16, kind: 'jumprelu', seed: 2 }).toDevice({ device: 'cuda' });
    const x = new Float32Array(16).fill(1);
    x[11] = Number.NaN;
    const error = await sae.encode(x).then(() => null, (e: unknown) => e);
    expect(isTokenfilterError(error, 'E_NOT_FINITE')).toBe(true);
    expect((error as Error).message).toMatch(/index 11/);
  });
});
