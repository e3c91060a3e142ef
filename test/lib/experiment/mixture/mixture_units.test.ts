// The mixture study's pieces: share weights, the sampler holding them, AUROC, alignability, and
// probes finding a linear signal planted in a model's embeddings.
import { describe, expect, it } from 'vitest';
import { auroc } from '../../../../lib/classify/metrics.js';
import { BatchSampler } from '../../../../lib/data/sampler.js';
import { writeShard } from '../../../../lib/data/shard.js';
import { shareWeights } from '../../../../lib/experiment/mixture/mixture_corpus.js';
import { measureSeparability } from '../../../../lib/experiment/mixture/separability.js';
import { alignability, type SteeringPoint } from '../../../../lib/experiment/mixture/steering_sweep.js';
import { Transformer } from '../../../../lib/model/transformer.js';
import { freshSeed, makeRng } from '../../../native/ops/helpers.js';
import { fakeTokenizer, tempDir } from '../../data/helpers.js';

describe('shareWeights', () => {
  it('gives medicine its share and keeps the general : biology proportion', () => {
    const tokens = { general: 3000, biology: 1000, medical: 999 };
    for (const share of [0, 0.01, 0.1, 0.4]) {
      const w = shareWeights(share, tokens);
      expect(w.medical).toBe(share);
      expect(w.general + w.biology + w.medical).toBeCloseTo(1, 12);
      expect(w.general / w.biology).toBeCloseTo(3, 12);
    }
    expect(() => shareWeights(1, tokens)).toThrow(/\[0, 1\)/);
    expect(() => shareWeights(-0.1, tokens)).toThrow(/\[0, 1\)/);
  });

  it('the sampler draws each source at its weight within 1% over a long draw', async () => {
    const { dir, cleanup } = tempDir('tf-mix-');
    try {
      const tokenizer = fakeTokenizer(64);
      const shards: string[] = [];
      for (const [i, size] of [5000, 2000, 800].entries()) {
        const path = `${dir}/s${i}.bin`;
        await writeShard(path, new Uint32Array(size).fill(10 * (i + 1)), { tokenizer });
        shards.push(path);
      }
      const weights = shareWeights(0.1, { general: 5000, biology: 2000, medical: 800 });
      const seed = freshSeed();
      const sampler = new BatchSampler({
        sources: [{ shards: [shards[0]], weight: weights.general }, { shards: [shards[1]], weight: weights.biology }, { shards: [shards[2]], weight: weights.medical }],
        batch: 64, context: 8, seed, lossMask: 'none',
      });
      const rows = [0, 0, 0];
      // 102,400 rows: the standard error of a share is at most 0.16 points, so 1 point is > 6 σ
      for (let b = 0; b < 1600; b++) {
        const batch = sampler.next();
        for (let r = 0; r < 64; r++) rows[batch.inputs[r * 8] / 10 - 1]++;
      }
      sampler.close();
      const total = rows.reduce((a, b) => a + b, 0);
      expect(Math.abs(rows[2] / total - 0.1), `seed ${seed}`).toBeLessThan(0.01);
      expect(Math.abs(rows[0] / total - weights.general)).toBeLessThan(0.01);
      expect(Math.abs(rows[1] / total - weights.biology)).toBeLessThan(0.01);
    } finally {
      cleanup();
    }
  });
});

describe('auroc', () => {
  it('equals the pairwise count with ties as one half', () => {
    const r = makeRng(freshSeed());
    const n = 300;
    const scores = Float32Array.from({ length: n }, () => Math.round(r.uniform() * 20) / 20);
    const labels = Uint8Array.from({ length: n }, (_, i) => (i < 5 ? i % 2 : r.uniform() < 0.3 ? 1 : 0));
    labels[7] = 255; // ignored
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (labels[i] === 1 && labels[j] === 0) {
          pairs++;
          wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
    expect(auroc(scores, labels)).toBeCloseTo(wins / pairs, 12);
    expect(() => auroc([1, 2], Uint8Array.of(1, 1))).toThrow(/both classes/);
  });
});

describe('alignability', () => {
  const point = (k: number, alpha: number, general: number, medical: number): SteeringPoint =>
    ({ method: 'iti', k, alpha, loss: {}, rise: { general, medical, biology: 0 } });

  it('interpolates where the general rise reaches the cost and keeps the best K', () => {
    const points = [
      point(1, 0, 0, 0), point(1, 1, 0.02, 0.1), point(1, 2, 0.08, 0.4),
      point(4, 0, 0, 0), point(4, 1, 0.04, 0.3), point(4, 2, 0.06, 0.5),
    ];
    const a = alignability(points, 0.05);
    // K 1: between α 1 and 2 at f = 0.5 → 0.25; K 4: f = 0.5 between α 1 and 2 → 0.4
    expect(a.reached).toBe(true);
    expect(a.k).toBe(4);
    expect(a.medicalRise).toBeCloseTo(0.4, 12);
    expect(a.alpha).toBeCloseTo(1.5, 12);
  });

  it('says when no curve reaches the cost and gives the best rise below it', () => {
    const a = alignability([point(2, 0, 0, 0), point(2, 4, 0.01, 0.2), point(2, 8, 0.03, 0.35)], 0.05);
    expect(a).toEqual({ medicalRise: 0.35, k: 2, alpha: 8, reached: false });
  });
});

describe('measureSeparability', () => {
  it('finds a direction planted in the embeddings of "medical" tokens', async () => {
    const seed = freshSeed();
    const r = makeRng(seed);
    const config = { vocabSize: 40, dModel: 16, layers: 2, heads: 2, context: 32, seed };
    const model = await Transformer.create(config);
    const u = Float32Array.from({ length: 16 }, () => r.normal());
    const norm = Math.hypot(...u);
    const flat = model.getParameters();
    const wte = model.tensorInfo().find((t) => t.name === 'wte.weight')!;
    // tokens 20..39 are "medical": their embeddings move 1.0 along u
    for (let v = 20; v < 40; v++) for (let c = 0; c < 16; c++) flat[wte.offset + v * 16 + c] += u[c] / norm;
    model.setParameters(flat);
    const n = 32 * 24;
    const labels = new Uint8Array(n);
    const tokens = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = r.uniform() < 0.3 ? 1 : 0;
      tokens[i] = labels[i] ? 20 + r.below(20) : r.below(20);
    }
    const s = await measureSeparability(model, { tokens, labels });
    expect(s.layers.length).toBe(4);
    expect(s.heads.length).toBe(4);
    expect(s.layers[0].auroc, `seed ${seed}`).toBeGreaterThan(0.99);
    const cosine = s.layers[0].meanDirection.reduce((acc, d, c) => acc + (d * u[c]) / norm, 0);
    expect(cosine, `seed ${seed}`).toBeGreaterThan(0.9);
    expect(s.testTokens).toBeGreaterThan(100);
  });
});
