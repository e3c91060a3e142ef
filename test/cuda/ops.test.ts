// Every CUDA op forward and backward against the CPU op on fresh random inputs (the CPU ops
// are themselves checked against float64 in test/native/ops/). Tolerances per op are stated
// in each test name; all fp32.
import { expect, it } from 'vitest';
import { expectClose, freshSeed, makeRng, randn } from '../native/ops/helpers.js';
import { cpuOps, describeCuda, gpuOps } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const ids = (n: number, below: number) => Uint32Array.from({ length: n }, () => rng.below(below));
const clone = (x: Float32Array) => new Float32Array(x);

describeCuda(`CUDA ops vs CPU ops (seed ${seed})`, () => {
  it('embedding forward is exact, backward accumulates like the CPU (rtol 1e-6)', () => {
    const N = 67, C = 45, V = 13;
    const tokens = ids(N, V), wte = randn(rng, V * C), dout = randn(rng, N * C), dwte0 = randn(rng, V * C);
    const [oc, og] = [new Float32Array(N * C), new Float32Array(N * C)];
    cpuOps.embeddingForward(oc, tokens, wte, N, C, V);
    gpuOps.embeddingForward(og, tokens, wte, N, C, V);
    expect(Array.from(og)).toEqual(Array.from(oc));
    const [dc, dg] = [clone(dwte0), clone(dwte0)];
    cpuOps.embeddingBackward(dc, dout, tokens, N, C, V);
    gpuOps.embeddingBackward(dg, dout, tokens, N, C, V);
    expectClose(dg, dc, { atol: 0, rtol: 1e-6 }, 'dwte');
  });

  it('rmsnorm forward and backward (atol 1e-5, rtol 1e-4; backward accumulates)', () => {
    for (const [N, C] of [[1, 1], [37, 300], [130, 768]] as const) {
      const inp = randn(rng, N * C), w = randn(rng, C), dout = randn(rng, N * C);
      const cpu = { out: new Float32Array(N * C), rstd: new Float32Array(N) };
      const gpu = { out: new Float32Array(N * C), rstd: new Float32Array(N) };
      cpuOps.rmsnormForward(cpu.out, cpu.rstd, inp, w, N, C, 1e-5);
      gpuOps.rmsnormForward(gpu.out, gpu.rstd, inp, w, N, C, 1e-5);
      expectClose(gpu.out, cpu.out, { atol: 1e-5, rtol: 1e-4 }, `out ${N}x${C}`);
      expectClose(gpu.rstd, cpu.rstd, { atol: 1e-6, rtol: 1e-5 }, `rstd ${N}x${C}`);
      const dinp0 = randn(rng, N * C), dw0 = randn(rng, C);
      const [dic, dwc, dig, dwg] = [clone(dinp0), clone(dw0), clone(dinp0), clone(dw0)];
      cpuOps.rmsnormBackward(dic, dwc, dout, inp, w, cpu.rstd, N, C);
      gpuOps.rmsnormBackward(dig, dwg, dout, inp, w, cpu.rstd, N, C);
      expectClose(dig, dic, { atol: 1e-5, rtol: 1e-4 }, `dinp ${N}x${C}`);
      expectClose(dwg, dwc, { atol: 1e-4, rtol: 1e-4 }, `dweight ${N}x${C}`);
    }
  });

  it('rope forward and backward on a fused qkv row, k and v untouched (atol 2e-6, rtol 1e-5)', () => {
    const B = 2, T = 70, NH = 3, hs = 16, stride = 3 * NH * hs;
    for (const op of ['ropeForward', 'ropeBackward']) {
      const x = randn(rng, B * T * stride);
      const [xc, xg] = [clone(x), clone(x)];
      cpuOps[op](xc, B, T, NH, hs, stride, 10000);
      gpuOps[op](xg, B, T, NH, hs, stride, 10000);
      expectClose(xg, xc, { atol: 2e-6, rtol: 1e-5 }, op);
    }
  });

  it('attention forward and backward for T not a multiple of the tile (out atol 2e-5; dqkv atol 1e-4, rtol 1e-3)', () => {
    for (const [B, T, C, NH] of [[1, 1, 8, 2], [2, 45, 64, 4], [1, 200, 128, 2]] as const) {
      const qkv = randn(rng, B * T * 3 * C), dout = randn(rng, B * T * C);
      const cpu = { out: new Float32Array(B * T * C), lse: new Float32Array(B * NH * T) };
      const gpu = { out: new Float32Array(B * T * C), lse: new Float32Array(B * NH * T) };
      cpuOps.attentionForward(cpu.out, cpu.lse, qkv, B, T, C, NH);
      gpuOps.attentionForward(gpu.out, gpu.lse, qkv, B, T, C, NH);
      expectClose(gpu.out, cpu.out, { atol: 2e-5, rtol: 1e-4 }, `out ${B},${T},${C},${NH}`);
      expectClose(gpu.lse, cpu.lse, { atol: 2e-5, rtol: 1e-5 }, `lse ${B},${T},${C},${NH}`);
      const dc = new Float32Array(qkv.length).fill(Number.NaN), dg = new Float32Array(qkv.length).fill(Number.NaN);
      cpuOps.attentionBackward(dc, dout, qkv, cpu.out, cpu.lse, B, T, C, NH);
      gpuOps.attentionBackward(dg, dout, qkv, cpu.out, cpu.lse, B, T, C, NH);
      expectClose(dg, dc, { atol: 1e-4, rtol: 1e-3 }, `dqkv ${B},${T},${C},${NH}`); // NaN anywhere fails: all written
    }
  });

  it('relu² forward and backward (exact up to 1 ulp: rtol 1e-7)', () => {
    const n = 10007, inp = randn(rng, n), dout = randn(rng, n);
    const [oc, og, dc, dg] = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    cpuOps.relu2Forward(oc, inp, n);
    gpuOps.relu2Forward(og, inp, n);
    cpuOps.relu2Backward(dc, dout, inp, n);
    gpuOps.relu2Backward(dg, dout, inp, n);
    expectClose(og, oc, { atol: 0, rtol: 1e-7 }, 'relu2');
    expectClose(dg, dc, { atol: 0, rtol: 1e-7 }, 'relu2 backward');
  });

  it('softmax + masked cross-entropy: losses, sum and dlogits; masked rows exactly 0 (losses rtol 1e-5, dlogits atol 1e-8)', () => {
    const N = 19, V = 50257;
    const logits = randn(rng, N * V, 3);
    const targets = ids(N, V);
    const mask = Uint8Array.from({ length: N }, (_, i) => (i % 4 === 1 ? 0 : 1));
    targets[1] = 0xffffffff; // a masked row's target is never read
    const [lc, lg] = [new Float32Array(N), new Float32Array(N)];
    const sc = cpuOps.crossEntropyForward(lc, logits, targets, mask, N, V);
    const sg = gpuOps.crossEntropyForward(lg, logits, targets, mask, N, V);
    expectClose(lg, lc, { atol: 1e-5, rtol: 1e-5 }, 'losses');
    expect(Math.abs(sg - sc)).toBeLessThanOrEqual(1e-5 * Math.abs(sc));
    const [dc, dg] = [clone(logits), clone(logits)];
    const scale = 1 / 15;
    cpuOps.crossEntropyForwardBackward(dc, null, targets, mask, N, V, scale);
    gpuOps.crossEntropyForwardBackward(dg, null, targets, mask, N, V, scale);
    expectClose(dg, dc, { atol: 1e-8, rtol: 1e-4 }, 'dlogits');
    for (let i = 0; i < N; i++)
      if (mask[i] === 0) expect(dg.subarray(i * V, (i + 1) * V).every((x) => x === 0)).toBe(true);
  });

  it('AdamW update and the sum of squares (params rtol 1e-6; sum rtol 1e-12)', () => {
    const n = 70001;
    const p = randn(rng, n), g = randn(rng, n), m = randn(rng, n, 0.1), v = Float32Array.from(randn(rng, n), (x) => x * x * 0.01);
    const cpu = [clone(p), clone(m), clone(v)], gpu = [clone(p), clone(m), clone(v)];
    cpuOps.adamwUpdate(cpu[0], g, cpu[1], cpu[2], n, 1e-3, 0.9, 0.95, 1e-7, 0.1, 7, 0.5);
    gpuOps.adamwUpdate(gpu[0], g, gpu[1], gpu[2], n, 1e-3, 0.9, 0.95, 1e-7, 0.1, 7, 0.5);
    expectClose(gpu[0], cpu[0], { atol: 1e-7, rtol: 1e-6 }, 'params');
    expectClose(gpu[1], cpu[1], { atol: 1e-8, rtol: 1e-6 }, 'm');
    expectClose(gpu[2], cpu[2], { atol: 1e-9, rtol: 1e-6 }, 'v');
    const x = randn(rng, 300001);
    const sc = cpuOps.sumOfSquares(x), sg = gpuOps.sumOfSquares(x);
    expect(Math.abs(sg - sc)).toBeLessThanOrEqual(1e-12 * sc);
  });
});
