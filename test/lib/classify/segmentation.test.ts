import { describe, expect, it } from 'vitest';
import { Boundary, boundariesOf, boundaryIds, segmentScores, type SegmentationParams } from '../../../lib/classify/segmentation.js';
import { smoothScores } from '../../../lib/classify/smoothing.js';
import { Random } from '../../../lib/data/random.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { tinyTokenizer } from './fixtures.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Brute force over every path of a short document: the max-marginal margin of each token. */
function bruteMargins(z: number[], p: SegmentationParams, boundaries: number[]): number[] {
  const costs = [p.switchCost, p.sentenceCost, p.lineCost];
  const best = [[-Infinity, -Infinity], ...z.map(() => [-Infinity, -Infinity])].slice(1);
  for (let mask = 0; mask < 1 << z.length; mask++) {
    let total = 0;
    for (let t = 0; t < z.length; t++) {
      const s = (mask >> t) & 1;
      total += s * (z[t] + p.bias);
      if (t > 0 && s !== ((mask >> (t - 1)) & 1)) total -= costs[boundaries[t - 1]];
    }
    for (let t = 0; t < z.length; t++) {
      const s = (mask >> t) & 1;
      best[t][s] = Math.max(best[t][s], total);
    }
  }
  return best.map(([b0, b1]) => b1 - b0);
}

/** Gaussian noise (Box–Muller). */
function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

function f1(scores: Float32Array, labels: Uint8Array): number {
  let tp = 0, fp = 0, fn = 0;
  scores.forEach((s, i) => {
    if (s >= 0.5 && labels[i]) tp++;
    else if (s >= 0.5) fp++;
    else if (labels[i]) fn++;
  });
  return (2 * tp) / (2 * tp + fp + fn);
}

describe('segmentScores', () => {
  it('equals the brute-force max-marginal margins (over the switch cost) on short random documents', () => {
    const random = new Random(3);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(random.next() * 10);
      const z = Array.from({ length: n }, () => 4 * (random.next() - 0.5));
      const boundaries = Array.from({ length: n }, () => Math.floor(random.next() * 3));
      const params = { switchCost: 3 * random.next(), sentenceCost: 2 * random.next(), lineCost: random.next(), bias: random.next() - 0.5 };
      const scores = segmentScores(Float32Array.from(z, sigmoid), params, Uint8Array.from(boundaries));
      const expected = bruteMargins(Array.from(Float32Array.from(z, sigmoid), (q) => Math.log(q / (1 - q))), params, boundaries);
      expected.forEach((m, t) => expect(scores[t]).toBeCloseTo(sigmoid(m / Math.max(1, params.switchCost)), 5));
    }
  });

  it('recovers planted short spans in noisy synthetic logits that smoothing averages away', () => {
    const random = new Random(11);
    const n = 20_000;
    const labels = new Uint8Array(n);
    const boundaries = new Uint8Array(n);
    // sentences of 12–30 tokens; one in six is a planted positive span, as short as one sentence
    for (let t = 0; t < n; ) {
      const length = 12 + Math.floor(random.next() * 19);
      const positive = random.next() < 1 / 6 ? 1 : 0;
      for (let k = 0; k < length && t < n; k++, t++) labels[t] = positive;
      if (t > 0) boundaries[t - 1] = Boundary.Sentence;
    }
    const logits = Float32Array.from(labels, (y) => (y ? 1.5 : -1.5) + 2.2 * gaussian(random));
    const probabilities = Float32Array.from(logits, sigmoid);
    const raw = f1(probabilities, labels);
    const segmented = f1(segmentScores(probabilities, { switchCost: 8, sentenceCost: 2, lineCost: 0, bias: 0 }, boundaries), labels);
    const smoothed = f1(smoothScores(probabilities, 32), labels);
    expect(raw).toBeLessThan(0.7);
    expect(smoothed).toBeLessThan(0.8);
    expect(segmented).toBeGreaterThan(0.9);
  });

  it('switches freely at a zero-cost line break and never inside a run under a huge cost', () => {
    const p = Float32Array.from([0.9, 0.9, 0.9, 0.1, 0.1, 0.1]);
    const free = segmentScores(p, { switchCost: 1e6, sentenceCost: 1e6, lineCost: 0, bias: 0 }, Uint8Array.from([0, 0, Boundary.Line, 0, 0, 0]));
    expect(Array.from(free, (s) => (s > 0.5 ? 1 : 0))).toEqual([1, 1, 1, 0, 0, 0]);
    const stuck = segmentScores(p, { switchCost: 1e6, sentenceCost: 1e6, lineCost: 1e6, bias: 0 });
    const states = Array.from(stuck, (s) => (s > 0.5 ? 1 : 0));
    expect(new Set(states).size).toBe(1);
  });

  it('rejects negative costs, a non-finite bias and boundaries of another length with E_OPTION', () => {
    const p = new Float32Array(3).fill(0.5);
    const good = { switchCost: 1, sentenceCost: 1, lineCost: 0, bias: 0 };
    for (const bad of [{ ...good, switchCost: -1 }, { ...good, lineCost: Number.NaN }, { ...good, bias: Infinity }])
      expect(() => segmentScores(p, bad)).toThrowError(expect.objectContaining({ code: 'E_OPTION' }));
    try {
      segmentScores(p, good, new Uint8Array(2));
      expect.unreachable();
    } catch (error) {
      expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
    }
  });
});

describe('boundaryIds', () => {
  it('marks line breaks and sentence ends of a real tokenizer', async () => {
    const tokenizer = await tinyTokenizer();
    const table = boundaryIds(tokenizer);
    const text = 'The cell divides. Then\nit grows!';
    const ids = tokenizer.encode(text);
    const b = boundariesOf(ids, table);
    ids.forEach((id, t) => {
      const piece = tokenizer.decode([id]);
      const expected = /\n/.test(piece) ? Boundary.Line : /[.!?]$/.test(piece) ? Boundary.Sentence : Boundary.None;
      expect(b[t]).toBe(expected);
    });
    expect(b.includes(Boundary.Line)).toBe(true);
    expect(b.includes(Boundary.Sentence)).toBe(true);
  });
});
