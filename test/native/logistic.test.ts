import { describe, expect, it } from 'vitest';
import { fitLogistic, logisticObjective, sampleWeights } from '../../lib/classify/logistic.js';
import { native } from '../../lib/native.js';

/** Seeded uniform [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random data: features with offsets and scales; labels from a logistic model with `sharpness`. */
function data(n: number, d: number, sharpness: number, seed: number) {
  const r = rng(seed);
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < d; j++) {
      const v = (r() * 2 - 1) * (1 + j) + j * 0.5;
      x[i * d + j] = v;
      m += ((v - j * 0.5) / (1 + j)) * (j % 2 === 0 ? 1 : -1);
    }
    y[i] = r() < 1 / (1 + Math.exp(-sharpness * m)) ? 1 : 0;
  }
  return { x, y };
}

/** Float64 Newton's method on the same standardised, weighted, L2 objective (the reference). */
function newtonReference(x: Float32Array, y: Uint8Array, d: number, l2: number, c: Float32Array | undefined) {
  const n = y.length;
  const mean = new Float64Array(d);
  const invStd = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { s += x[i * d + j]; s2 += x[i * d + j] ** 2; }
    mean[j] = s / n;
    invStd[j] = 1 / Math.sqrt(s2 / n - mean[j] ** 2);
  }
  const z = (i: number, j: number) => (j === d ? 1 : (x[i * d + j] - mean[j]) * invStd[j]);
  const P = d + 1;
  const theta = new Float64Array(P);
  let W = 0;
  for (let i = 0; i < n; i++) W += c ? c[i] : 1;
  for (let iteration = 0; iteration < 100; iteration++) {
    const g = new Float64Array(P);
    const H = Array.from({ length: P }, () => new Float64Array(P));
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let j = 0; j < P; j++) m += z(i, j) * theta[j];
      const p = 1 / (1 + Math.exp(-m));
      const ci = (c ? c[i] : 1) / W;
      for (let j = 0; j < P; j++) {
        g[j] += ci * (p - y[i]) * z(i, j);
        for (let k = 0; k < P; k++) H[j][k] += ci * p * (1 - p) * z(i, j) * z(i, k);
      }
    }
    for (let j = 0; j < d; j++) { g[j] += l2 * theta[j]; H[j][j] += l2; }
    // solve H δ = g by Gaussian elimination
    const A = H.map((row, j) => [...row, g[j]]);
    for (let col = 0; col < P; col++) {
      let pivot = col;
      for (let r = col + 1; r < P; r++) if (Math.abs(A[r][col]) > Math.abs(A[pivot][col])) pivot = r;
      [A[col], A[pivot]] = [A[pivot], A[col]];
      for (let r = 0; r < P; r++) {
        if (r === col) continue;
        const f = A[r][col] / A[col][col];
        for (let k = col; k <= P; k++) A[r][k] -= f * A[col][k];
      }
    }
    let step = 0;
    for (let j = 0; j < P; j++) { const delta = A[j][P] / A[j][j]; theta[j] -= delta; step = Math.max(step, Math.abs(delta)); }
    if (step < 1e-12) break;
  }
  return { mean, invStd, w: theta.subarray(0, d), b: theta[d] };
}

describe('native logistic regression', () => {
  const cases = [
    { name: 'non-separable', sharpness: 1, l2: 1e-3, weighting: 'none' as const },
    { name: 'nearly separable', sharpness: 30, l2: 1e-2, weighting: 'none' as const },
    { name: 'class-weighted', sharpness: 2, l2: 1e-3, weighting: 'balanced' as const },
  ];
  for (const c of cases) {
    it(`matches a float64 Newton fit (${c.name}) to 1e-4`, async () => {
      const d = 5;
      const { x, y } = data(600, d, c.sharpness, 7 + c.sharpness);
      const model = await fitLogistic(x, y, d, { l2: c.l2, classWeight: c.weighting, tolerance: 1e-9, maxIterations: 2000 });
      const ref = newtonReference(x, y, d, c.l2, sampleWeights(y, c.weighting));
      expect(model.fit.converged).toBe(true);
      for (let j = 0; j < d; j++) {
        expect(model.mean[j]).toBeCloseTo(ref.mean[j], 6);
        expect(Math.abs(model.weights[j] - ref.w[j])).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.w[j])));
      }
      expect(Math.abs(model.bias - ref.b)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.b)));
      // predictions on raw features equal the standardised model's
      const p = model.predict(x.subarray(0, d));
      let m = ref.b;
      for (let j = 0; j < d; j++) m += (x[j] - ref.mean[j]) * ref.invStd[j] * ref.w[j];
      expect(p[0]).toBeCloseTo(1 / (1 + Math.exp(-m)), 4);
    });
  }

  it('has a gradient that matches central finite differences (float64, rel. 1e-6)', () => {
    const d = 4;
    const { x, y } = data(300, d, 1.5, 3);
    const r = rng(11);
    const at = {
      mean: Float64Array.from({ length: d }, () => r() - 0.5),
      invStd: Float64Array.from({ length: d }, () => 0.5 + r()),
      weights: Float64Array.from({ length: d }, () => r() * 2 - 1),
      bias: 0.3,
    };
    const options = { l2: 0.05, classWeight: 'balanced' as const };
    const { gradient } = logisticObjective(x, y, d, at, options);
    const h = 1e-5;
    for (let j = 0; j <= d; j++) {
      const shifted = (delta: number) => {
        const w = Float64Array.from(at.weights);
        let b = at.bias;
        if (j < d) w[j] += delta; else b += delta;
        return logisticObjective(x, y, d, { ...at, weights: w, bias: b }, options).loss;
      };
      const numeric = (shifted(h) - shifted(-h)) / (2 * h);
      expect(Math.abs(numeric - gradient[j])).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  });

  it('gives the same fit whatever the thread count', async () => {
    const { x, y } = data(5000, 6, 1, 5);
    const { setThreads, backendInfo } = await import('../../lib/native.js');
    const before = backendInfo().threads;
    setThreads(1);
    const one = await fitLogistic(x, y, 6);
    setThreads(Math.max(2, before));
    const many = await fitLogistic(x, y, 6);
    setThreads(before);
    expect(Array.from(many.weights)).toEqual(Array.from(one.weights));
  });

  it('rejects bad inputs with errors naming them', async () => {
    const { x, y } = data(50, 3, 1, 1);
    await expect(fitLogistic(x, y, 4)).rejects.toThrow(/features has length 150, expected/);
    const bad = Uint8Array.from(y);
    bad[7] = 2;
    expect(() => native.logistic.fit(x, bad, undefined, 50, 3, { l2: 0, maxIterations: 5, tolerance: 1e-6, memory: 5 })).toThrow(/y\[7\] = 2/);
    const nan = Float32Array.from(x);
    nan[4] = NaN;
    await expect(fitLogistic(nan, y, 3)).rejects.toThrow(/x\[4\]|index 4/);
    await expect(fitLogistic(x, new Uint8Array(50), 3)).rejects.toThrow(/both classes/);
    await expect(fitLogistic(x, y, 3, { classWeight: { negative: 0, positive: 1 } })).rejects.toThrow(RangeError);
    await expect(fitLogistic(x, y, 3, { l2: -1 })).rejects.toThrow(/l2/);
    const controller = new AbortController();
    controller.abort();
    await expect(fitLogistic(x, y, 3, { signal: controller.signal })).rejects.toThrow(/aborted/);
    // n · d past 2^64 would wrap to a small length that a tiny array matches
    let error: unknown;
    try {
      native.logistic.predict(new Float32Array(0), 2 ** 40, 2 ** 24, new Float64Array(2 ** 24), 0);
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toBe('E_TOO_LARGE');
    expect((error as Error).message).toMatch(/n × d = 1099511627776 × 16777216 is beyond any array/);
  });
});
