// The native SAE against a float64 reference (test/native/sae_reference.ts): encoding, TopK
// exactness, loss gradients by finite differences, unit-norm decoder rows, and training on
// synthetic sparse data with planted features.
//
// Tolerances: encodings within 1e-4 · (1 + |ref|) (float32 sums of <= 32 products of O(1)
// terms); gradients within 2e-3 · (1 + max |g|) of central differences (h = 1e-5) of the
// float64 loss.
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SparseAutoencoder } from '../../lib/label/sae.js';
import { trainSae } from '../../lib/label/train_sae.js';
import { native } from '../../lib/native.js';
import { layout, normal, random, refForward, refLoss, seedRandom, type RefConfig } from './sae_reference.js';

const seed = randomInt(2 ** 31);
seedRandom(seed);
console.log(`sae.test seed ${seed}`);

function nativeConfig(c: RefConfig, deadAfter: number) {
  return { dModel: c.D, dSae: c.L, kind: c.kind, k: c.k, l0Coefficient: c.l0, bandwidth: c.bandwidth, auxCoefficient: c.auxC, auxK: c.auxK, deadAfter };
}

function randomParams(c: RefConfig): Float32Array {
  const lay = layout(c);
  const p = new Float32Array(lay.total);
  for (let i = 0; i < p.length; i++) p[i] = 0.5 * normal();
  for (let l = 0; l < c.L; l++) p[lay.th + l] = 0.3 + 0.5 * random();
  return p;
}

function randomRows(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => normal());
}

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

describe('SAE encode', () => {
  for (const kind of ['jumprelu', 'topk'] as const) {
    it(`${kind}: forward matches the float64 reference`, () => {
      const c: RefConfig = { D: 24, L: 40, kind, k: 5, l0: 0.01, bandwidth: 0.05, auxC: 0, auxK: 8 };
      const p = randomParams(c);
      const N = 37;
      const x = randomRows(N * c.D);
      const model = new native.sae.SaeModel(nativeConfig(c, 1000));
      model.writeParameters(p);
      const pre = new Float32Array(N * c.L);
      const f = new Float32Array(N * c.L);
      model.forward(x, pre, f);
      const ref = refForward(c, p, x, N);
      expect(maxError(pre, ref.pre)).toBeLessThan(1e-4);
      expect(maxError(f, ref.f)).toBeLessThan(1e-4);
      if (kind === 'topk')
        for (let n = 0; n < N; n++) {
          const nonzero = f.subarray(n * c.L, (n + 1) * c.L).filter((v) => v !== 0).length;
          const positive = [...ref.pre.subarray(n * c.L, (n + 1) * c.L)].sort((a, b) => b - a).slice(0, c.k).filter((v) => v > 0).length;
          expect(nonzero).toBe(positive);
        }
    });
  }

  it('selected-latent encoding (one GEMM over gathered columns) equals the full encoding', async () => {
    const D = 48;
    const L = 96;
    const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind: 'jumprelu', seed: 3, initialThreshold: 0.2 });
    const lay = sae.layout;
    for (let l = 0; l < L; l++) sae.parameters[lay.bEnc + l] = 0.1 * normal();
    sae.inputScale = 0.7;
    const x = randomRows(29 * D);
    const full = await sae.encode(x);
    const latents = [5, 90, 0, 17, 17, 63];
    const sub = await sae.encode(x, sae.encoderFor(latents));
    const ref = refForward(
      { D, L, kind: 'jumprelu', k: 1, l0: 0, bandwidth: 1, auxC: 0, auxK: 1 },
      sae.parameters,
      x.map((v) => v * 0.7),
      29,
    );
    expect(maxError(full, ref.f)).toBeLessThan(1e-4);
    for (let t = 0; t < 29; t++)
      latents.forEach((l, s) => expect(sub[t * latents.length + s]).toBeCloseTo(full[t * L + l], 4));
  });

  it('selectedCodes is the full encoding restricted to the selected latents, for TopK and JumpReLU', async () => {
    const D = 24;
    const L = 64;
    const x = randomRows(31 * D);
    const latents = [9, 0, 63, 9, 40];
    for (const kind of ['topk', 'jumprelu'] as const) {
      const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 4, seed: 5, initialThreshold: 0.2 });
      const full = await sae.encode(x);
      const picked = await sae.selectedCodes(x, sae.encoderFor(latents));
      expect(picked.length).toBe(31 * latents.length);
      for (let t = 0; t < 31; t++) latents.forEach((l, s) => expect(picked[t * latents.length + s]).toBeCloseTo(full[t * L + l], 4));
      if (kind === 'topk') {
        // a TopK latent that lost the competition is 0 here, unlike on the subset path
        let zeros = 0;
        for (const v of picked) zeros += v === 0 ? 1 : 0;
        expect(zeros).toBeGreaterThan(picked.length / 2);
      }
      // the reusing form writes into the same buffers block after block, with the same codes
      const codesOf = sae.codesReusing(sae.encoderFor(latents));
      const first = await codesOf(x);
      expect(Array.from(first)).toEqual(Array.from(picked));
      // a smaller block reuses the same memory; a larger one grows it
      const part = await codesOf(x.subarray(0, 7 * D));
      expect(part.buffer).toBe(first.buffer);
      expect(Array.from(part)).toEqual(Array.from(picked.subarray(0, 7 * latents.length)));
      expect(Array.from(await codesOf(x))).toEqual(Array.from(picked));
      // with no encoder: every latent's exact codes
      expect(Array.from(await sae.codesReusing()(x))).toEqual(Array.from(full));
      await expect(codesOf(new Float32Array(D + 1))).rejects.toThrow(/not a multiple of dModel/);
      await expect(sae.selectedCodes(new Float32Array(D + 1), sae.encoderFor(latents), new Float32Array(5))).rejects.toThrow(/not a multiple of dModel/);
      await expect(sae.selectedCodes(x, sae.encoderFor(latents), new Float32Array(3))).rejects.toThrow(/31 × 5/);
      if (kind === 'topk') await expect(sae.selectedCodes(x, sae.encoderFor(latents), undefined, new Float32Array(5))).rejects.toThrow(/scratch must be .* 31 × 64/);
    }
  });

  it('TopK encoding keeps exactly the k largest pre-activations', async () => {
    const sae = SparseAutoencoder.create({ dModel: 16, dSae: 64, kind: 'topk', k: 7, seed: 1 });
    const x = randomRows(50 * 16);
    const f = await sae.encode(x);
    const ref = refForward({ D: 16, L: 64, kind: 'topk', k: 7, l0: 0, bandwidth: 1, auxC: 0, auxK: 1 }, sae.parameters, x, 50);
    expect(maxError(f, ref.f)).toBeLessThan(1e-4);
  });

  it('writes into a caller-given output buffer (reused across blocks) exactly as into a fresh one', async () => {
    for (const kind of ['topk', 'jumprelu'] as const) {
      const D = 16;
      const L = 64;
      const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 5, seed: 4, initialThreshold: 0.1 });
      const out = new Float32Array(20 * L).fill(Number.NaN); // stale contents must not leak through
      const picked = [9, 2, 40];
      const outPicked = new Float32Array(20 * picked.length).fill(7);
      for (let block = 0; block < 3; block++) {
        const x = randomRows(20 * D);
        const returned = await sae.encode(x, undefined, out);
        expect(returned).toBe(out);
        expect([...out]).toEqual([...(await sae.encode(x))]);
        const encoder = sae.encoderFor(picked);
        expect(await sae.encode(x, encoder, outPicked)).toBe(outPicked);
        expect([...outPicked]).toEqual([...(await sae.encode(x, encoder))]);
      }
      const x = randomRows(20 * D);
      await expect(sae.encode(x, undefined, new Float32Array(20 * L - 1))).rejects.toThrow(/out has length 1279, expected tokens × latents = 20 × 64/);
      await expect(sae.encode(x, sae.encoderFor(picked), new Float32Array(20 * L))).rejects.toThrow(/expected tokens × latents = 20 × 3/);
      const shared = new Float32Array(20 * D + 20 * L);
      await expect(sae.encode(shared.subarray(0, 20 * D), undefined, shared.subarray(20 * D - 1, 20 * D - 1 + 20 * L))).rejects.toThrow(/must not overlap/);
    }
  });

  it('the selected-latent path refuses NaN / inf inputs and a non-finite encoder, naming the cause', async () => {
    const D = 16;
    const sae = SparseAutoencoder.create({ dModel: D, dSae: 64, kind: 'jumprelu', seed: 4, initialThreshold: 0.1 });
    const encoder = sae.encoderFor([3, 7, 11]);
    for (const [bad, shown] of [[Number.NaN, 'nan'], [Number.POSITIVE_INFINITY, 'inf']] as const) {
      const x = randomRows(40 * D);
      x[17 * D + 5] = bad;
      await expect(sae.encode(x, encoder)).rejects.toThrow(`x contains a non-finite value (${shown}) at index ${17 * D + 5}`);
    }
    const broken = { ...encoder, bias: Float32Array.from(encoder.bias) };
    broken.bias[1] = Number.NEGATIVE_INFINITY;
    await expect(sae.encode(randomRows(40 * D), broken)).rejects.toThrow(/encoder or its bias holds NaN or inf/);
  });

  it('TopK in place (f = pre) gives the same codes as into a separate array', () => {
    const L = 33;
    const N = 11;
    const pre = randomRows(N * L);
    const f = new Float32Array(N * L);
    native.sae.topkActivation(pre, L, 4, f);
    const inPlace = Float32Array.from(pre);
    native.sae.topkActivation(inPlace, L, 4, inPlace);
    expect([...inPlace]).toEqual([...f]);
    for (let n = 0; n < N; n++) expect(f.subarray(n * L, (n + 1) * L).filter((v) => v !== 0).length).toBeLessThanOrEqual(4);
  });
});

describe('SAE loss gradients', () => {
  const cases: [string, RefConfig][] = [
    // k = 1 and N = 9 rows: at most 9 of 12 latents fire, so some are dead and the aux loss runs
    ['topk with aux loss', { D: 6, L: 12, kind: 'topk', k: 1, l0: 0, bandwidth: 1, auxC: 0.5, auxK: 4 }],
    ['jumprelu with aux loss', { D: 6, L: 12, kind: 'jumprelu', k: 1, l0: 0.05, bandwidth: 0.2, auxC: 0.5, auxK: 3 }],
  ];
  for (const [name, c] of cases) {
    it(`${name}: analytic gradients match finite differences (threshold: the straight-through estimate)`, () => {
      const N = 9;
      const p = randomParams(c);
      // JumpReLU: latents 0..3 get a threshold far above any pre-activation (|pre| < 6 here
      // with overwhelming probability), so they are dead and the aux loss runs
      if (c.kind === 'jumprelu') for (let l = 0; l < 4; l++) p[layout(c).th + l] = 6;
      const x = randomRows(N * c.D);
      const model = new native.sae.SaeModel(nativeConfig(c, 1));
      model.writeParameters(p);
      const stats = model.lossAndGrad(x);
      const grads = new Float32Array(p.length);
      model.readGradients(grads);
      const base = refLoss(c, p, x, N);
      expect(Math.abs(stats.loss - base.loss)).toBeLessThan(1e-4 * (1 + base.loss));
      const lay = layout(c);
      const p64 = Float64Array.from(p);
      const h = 1e-5;
      const fd = new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) {
        if (i >= lay.th && i < lay.wDec) continue;
        const keep = p64[i];
        p64[i] = keep + h;
        const up = refLoss(c, p64, x, N, base.residual).loss;
        p64[i] = keep - h;
        const down = refLoss(c, p64, x, N, base.residual).loss;
        p64[i] = keep;
        fd[i] = (up - down) / (2 * h);
      }
      // threshold: straight-through estimate from the reference's pre-activations
      if (c.kind === 'jumprelu') {
        const { pre, f } = refForward(c, p, x, N);
        const xhat = new Float64Array(N * c.D);
        for (let n = 0; n < N; n++)
          for (let d = 0; d < c.D; d++) {
            let s = p[lay.bDec + d];
            for (let l = 0; l < c.L; l++) s += f[n * c.L + l] * p[lay.wDec + l * c.D + d];
            xhat[n * c.D + d] = s;
          }
        for (let l = 0; l < c.L; l++) {
          let g = 0;
          const th = p[lay.th + l];
          for (let n = 0; n < N; n++) {
            if (Math.abs((pre[n * c.L + l] - th) / c.bandwidth) >= 0.5) continue;
            let df = 0;
            for (let d = 0; d < c.D; d++) df += (2 * (xhat[n * c.D + d] - x[n * c.D + d]) * p[lay.wDec + l * c.D + d]) / N;
            g += -(th / c.bandwidth) * df - c.l0 / (N * c.bandwidth);
          }
          fd[lay.th + l] = g;
        }
      }
      const scale = 1 + fd.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < p.length; i++) {
        if (c.kind === 'topk' && i >= lay.th && i < lay.wDec) continue;
        const e = Math.abs(grads[i] - fd[i]);
        if (e > worst) [worst, at] = [e, i];
      }
      expect(worst, `worst at ${at}: ${grads[at]} vs ${fd[at]}`).toBeLessThan(2e-3 * scale);
      expect(stats.dead).toBeGreaterThan(0); // the auxiliary loss took part
    });
  }
});

describe('SAE training', () => {
  it('keeps decoder rows at unit norm after Adam steps', async () => {
    const c: RefConfig = { D: 10, L: 20, kind: 'jumprelu', k: 1, l0: 0.01, bandwidth: 0.1, auxC: 0.1, auxK: 4 };
    const model = new native.sae.SaeModel(nativeConfig(c, 50));
    model.init(7, 0.1);
    for (let s = 0; s < 5; s++) await model.step(randomRows(32 * c.D), 1e-2, 0.9, 0.999, 1e-8);
    const p = new Float32Array(model.paramCount());
    model.readParameters(p);
    const lay = layout(c);
    for (let l = 0; l < c.L; l++) {
      let ss = 0;
      for (let d = 0; d < c.D; d++) ss += p[lay.wDec + l * c.D + d] ** 2;
      expect(Math.sqrt(ss)).toBeCloseTo(1, 5);
    }
    for (let l = 0; l < c.L; l++) expect(p[lay.th + l]).toBeGreaterThan(0);
  });

  for (const kind of ['topk', 'jumprelu'] as const) {
    it(`${kind}: lowers reconstruction error and recovers planted features`, async () => {
      const D = 32;
      const F = 40; // planted features
      const features: Float64Array[] = [];
      for (let f = 0; f < F; f++) {
        const v = Float64Array.from({ length: D }, () => normal());
        const norm = Math.hypot(...v);
        features.push(v.map((a) => a / norm));
      }
      const batch = (N: number) => {
        const x = new Float32Array(N * D);
        for (let n = 0; n < N; n++)
          for (let j = 0; j < 3; j++) {
            const f = Math.floor(random() * F);
            const a = 1 + random();
            for (let d = 0; d < D; d++) x[n * D + d] += a * features[f][d];
          }
        return x;
      };
      const sae = SparseAutoencoder.create({
        dModel: D, dSae: 64, kind, k: 4, seed: 11, initialThreshold: 0.5, l0Coefficient: 1, bandwidth: 0.1, deadAfter: 5000,
      });
      const first: number[] = [];
      const summary = await trainSae(sae, (function* () { for (let s = 0; s < 1500; s++) yield batch(128); })(), {
        lr: 3e-3, steps: 1500, onProgress: (p) => { if (p.step <= 5) first.push(p.mse); },
      });
      expect(summary.mse).toBeLessThan(0.15 * first[0]);
      expect(summary.explainedVariance).toBeGreaterThan(0.85);
      const lay = sae.layout;
      let recovered = 0;
      for (const v of features) {
        let best = 0;
        for (let l = 0; l < 64; l++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += v[d] * sae.parameters[lay.wDec + l * D + d];
          best = Math.max(best, dot);
        }
        if (best > 0.9) recovered++;
      }
      expect(recovered / F).toBeGreaterThan(0.8);
    });
  }
});
