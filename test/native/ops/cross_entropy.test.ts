// Fused softmax + cross-entropy with a loss mask vs a float64 reference.
import { describe, expect, it } from 'vitest';
import { bitsEqual, expectClose, forEachBackend, freshSeed, makeRng, numericGradient, ops, randn, toF64, withThreads } from './helpers.js';

// logits [N, V] -> per-row losses (0 on masked rows) and dlogits = scale * (softmax - onehot), float64
function crossEntropyRef(logits: ArrayLike<number>, targets: Uint32Array, mask: Uint8Array | null, N: number, V: number, scale: number) {
  const losses = new Float64Array(N);
  const dlogits = new Float64Array(N * V);
  for (let i = 0; i < N; i++) {
    if (mask && !mask[i]) continue;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[i * V + j]);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[i * V + j] - max);
    losses[i] = max + Math.log(sum) - logits[i * V + targets[i]];
    for (let j = 0; j < V; j++) dlogits[i * V + j] = (scale * Math.exp(logits[i * V + j] - max)) / sum;
    dlogits[i * V + targets[i]] -= scale;
  }
  return { losses, dlogits, total: losses.reduce((a, b) => a + b, 0) };
}

function randomTargets(rng: ReturnType<typeof makeRng>, N: number, V: number): Uint32Array {
  return Uint32Array.from({ length: N }, () => rng.below(V));
}

describe('cross-entropy', () => {
  it('forward and dlogits match float64 at V = 50257 and odd V, every SIMD level and thread count', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const [N, V] of [[4, 50257], [7, 33], [3, 1]]) {
      const logits = randn(rng, N * V, 3);
      const targets = randomTargets(rng, N, V);
      const mask = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 0 : 1));
      const scale = 0.37;
      const ref = crossEntropyRef(logits, targets, mask, N, V, scale);
      forEachBackend((level, threads) => {
        const label = `seed ${seed} ${level} x${threads} N=${N} V=${V}`;
        const losses = new Float32Array(N);
        const total = ops.crossEntropyForward(losses, logits, targets, mask, N, V);
        expectClose(losses, ref.losses, { atol: 1e-5, rtol: 1e-5 }, `${label} losses`);
        expect(Math.abs(total - ref.total), `${label} total`).toBeLessThan(1e-5 * Math.abs(ref.total) + 1e-5);
        const d = logits.slice();
        const losses2 = new Float32Array(N);
        const total2 = ops.crossEntropyForwardBackward(d, losses2, targets, mask, N, V, scale);
        expect(total2).toBe(total);
        expect(bitsEqual(losses2, losses), `${label} same losses from both entry points`).toBe(true);
        expectClose(d, ref.dlogits, { atol: 1e-7, rtol: 1e-4 }, `${label} dlogits`);
      });
    }
  });

  it('dlogits is scale times the finite-difference gradient of the summed loss', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, V] = [4, 23];
    const logits = randn(rng, N * V, 2);
    const targets = randomTargets(rng, N, V);
    const mask = Uint8Array.from([1, 0, 1, 1]);
    const scale = 1 / 3;
    const numeric = numericGradient((x) => scale * crossEntropyRef(x, targets, mask, N, V, scale).total, toF64(logits));
    forEachBackend((level, threads) => {
      const d = logits.slice();
      ops.crossEntropyForwardBackward(d, null, targets, mask, N, V, scale);
      expectClose(d, numeric, { atol: 1e-6, rtol: 1e-4 }, `seed ${seed} ${level} x${threads}`);
    });
  });

  it('masked rows get exactly zero loss and gradient, and their targets do not matter', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, V] = [6, 1000];
    const logits = randn(rng, N * V, 4);
    const targets = randomTargets(rng, N, V);
    const mask = Uint8Array.from([1, 0, 0, 1, 1, 0]);
    const d1 = logits.slice();
    const losses1 = new Float32Array(N).fill(7);
    const total1 = ops.crossEntropyForwardBackward(d1, losses1, targets, mask, N, V, 0.25);
    for (const i of [1, 2, 5]) {
      expect(losses1[i]).toBe(0);
      expect(d1.subarray(i * V, (i + 1) * V).every((g) => g === 0 && !Object.is(g, -0))).toBe(true);
    }
    const other = targets.slice();
    for (const i of [1, 2, 5]) other[i] = (targets[i] + 1 + rng.below(V - 1)) % V;
    const d2 = logits.slice();
    const losses2 = new Float32Array(N);
    const total2 = ops.crossEntropyForwardBackward(d2, losses2, other, mask, N, V, 0.25);
    expect(total2).toBe(total1);
    expect(bitsEqual(d1, d2) && bitsEqual(losses1, losses2)).toBe(true);
    // a masked row may carry any id, even one outside the vocabulary (e.g. a padding sentinel)
    const sentinel = targets.slice();
    sentinel[1] = 0xffffffff;
    const d3 = logits.slice();
    expect(ops.crossEntropyForwardBackward(d3, null, sentinel, mask, N, V, 0.25)).toBe(total1);
    expect(bitsEqual(d1, d3)).toBe(true);
    expect(() => ops.crossEntropyForward(null, logits, sentinel, null, N, V)).toThrow(/targets\[1\] = 4294967295 is out of range/);
    // no mask = every row counts
    const all = ops.crossEntropyForward(null, logits, targets, null, N, V);
    const ref = crossEntropyRef(logits, targets, null, N, V, 1);
    expect(Math.abs(all - ref.total)).toBeLessThan(1e-4);
  });

  it('a fully masked batch gives total 0 and zero gradient, never NaN', () => {
    const [N, V] = [3, 50];
    const rng = makeRng(freshSeed());
    const logits = randn(rng, N * V);
    const d = logits.slice();
    const total = ops.crossEntropyForwardBackward(d, null, randomTargets(rng, N, V), new Uint8Array(N), N, V, 1);
    expect(total).toBe(0);
    expect(d.every((g) => g === 0)).toBe(true);
  });

  it('is stable for huge logits (|x| ~ 1e4)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, V] = [3, 4099];
    const logits = randn(rng, N * V, 1e4);
    logits[5] = 1e4; // a clear maximum in row 0
    const targets = Uint32Array.from([5, 17, 4000]);
    const ref = crossEntropyRef(logits, targets, null, N, V, 1);
    forEachBackend((level, threads) => {
      const d = logits.slice();
      const losses = new Float32Array(N);
      const total = ops.crossEntropyForwardBackward(d, losses, targets, null, N, V, 1);
      expect(Number.isFinite(total)).toBe(true);
      expectClose(losses, ref.losses, { atol: 1e-2, rtol: 1e-6 }, `seed ${seed} ${level} x${threads} losses`);
      expectClose(d, ref.dlogits, { atol: 1e-6, rtol: 1e-4 }, `seed ${seed} ${level} x${threads} dlogits`);
    });
  });

  it('is bit-identical on repeat for a fixed thread count', () => {
    const rng = makeRng(freshSeed());
    const [N, V] = [8, 5003];
    const logits = randn(rng, N * V, 2);
    const targets = randomTargets(rng, N, V);
    for (const threads of [1, 2])
      withThreads(threads, () => {
        const a = logits.slice();
        const b = logits.slice();
        const ta = ops.crossEntropyForwardBackward(a, null, targets, null, N, V, 0.5);
        const tb = ops.crossEntropyForwardBackward(b, null, targets, null, N, V, 0.5);
        expect(ta).toBe(tb);
        expect(bitsEqual(a, b)).toBe(true);
      });
  });

  it('rejects bad arguments with errors naming them', () => {
    const [N, V] = [2, 5];
    const logits = new Float32Array(N * V);
    const targets = Uint32Array.from([1, 2]);
    expect(() => ops.crossEntropyForward(null, logits, Uint32Array.from([1, 5]), null, N, V)).toThrow(/targets\[1\] = 5 is out of range/);
    expect(() => ops.crossEntropyForward(null, logits, Int32Array.from([1, 2]), null, N, V)).toThrow(/targets must be a Uint32Array/);
    expect(() => ops.crossEntropyForward(null, logits.subarray(1), targets, null, N, V)).toThrow(/logits has length/);
    expect(() => ops.crossEntropyForward(new Float32Array(1), logits, targets, null, N, V)).toThrow(/losses has length/);
    expect(() => ops.crossEntropyForwardBackward(logits, null, targets, new Uint8Array(1), N, V, 1)).toThrow(/mask has length/);
    expect(() => ops.crossEntropyForwardBackward(logits, null, targets, null, N, V, Number.NaN)).toThrow(/dlossScale/);
  });
});
