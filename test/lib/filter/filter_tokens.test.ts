import { describe, expect, it } from 'vitest';
import { filterTokens } from '../../../lib/filter/filter_tokens.js';
import { backendInfo, setThreads } from '../../../lib/native.js';
import { thresholdForFraction } from '../../../lib/filter/threshold.js';

const EOT = 0;
const HIDDEN = 1;
// three documents: [5 6 7 EOT] [8 9 EOT] [10 11 12 13]
const tokens = new Uint32Array([5, 6, 7, EOT, 8, 9, EOT, 10, 11, 12, 13]);
const scores = new Float32Array([0.1, 0.9, 0.8, 0.0, 0.2, 0.1, 0.0, 0.95, 0.97, 0.99, 0.6]);
const labels = new Uint8Array([0, 1, 1, 0, 2, 2, 0, 1, 1, 1, 0]);

describe('filterTokens', () => {
  it('mask: keeps tokens, zeroes the loss of flagged ones', () => {
    const r = filterTokens(tokens, scores, { mode: 'mask', threshold: 0.5, eotId: EOT });
    expect(r.tokens).toBe(tokens);
    expect(Array.from(r.lossMask)).toEqual([1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(r.docsKept)).toEqual([1, 1, 1]);
    expect(r.stats).toMatchObject({
      mode: 'mask', threshold: 0.5, tokens: 11, flaggedTokens: 6, supervisedTokens: 5,
      documents: 3, documentsDropped: 0, documentsEmptied: 1,
    });
    expect(r.stats.flaggedFraction).toBeCloseTo(6 / 11, 12);
  });

  it('remove: replaces flagged tokens by <|hidden|> and masks them, input untouched', () => {
    const before = tokens.slice();
    const r = filterTokens(tokens, scores, { mode: 'remove', threshold: 0.5, hiddenId: HIDDEN, eotId: EOT });
    expect(Array.from(r.tokens)).toEqual([5, HIDDEN, HIDDEN, EOT, 8, 9, EOT, HIDDEN, HIDDEN, HIDDEN, HIDDEN]);
    expect(Array.from(r.lossMask)).toEqual([1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(tokens).toEqual(before);
  });

  it('never flags the separator: it keeps its id and its loss mask in both token modes, whatever its score', () => {
    const stream = new Uint32Array([5, 6, EOT, 7, 8, EOT, 9]);
    for (const high of [new Float32Array(7).fill(0.9), new Uint8Array(7).fill(230)]) {
      const removed = filterTokens(stream, high, { mode: 'remove', threshold: 0.5, hiddenId: HIDDEN, eotId: EOT });
      expect(Array.from(removed.tokens)).toEqual([HIDDEN, HIDDEN, EOT, HIDDEN, HIDDEN, EOT, HIDDEN]);
      expect(Array.from(removed.lossMask)).toEqual([0, 0, 1, 0, 0, 1, 0]);
      expect(removed.stats).toMatchObject({ flaggedTokens: 5, supervisedTokens: 2, documents: 3, documentsEmptied: 3 });
      const masked = filterTokens(stream, high, { mode: 'mask', threshold: 0.5, eotId: EOT });
      expect(Array.from(masked.tokens)).toEqual(Array.from(stream));
      expect(Array.from(masked.lossMask)).toEqual([0, 0, 1, 0, 0, 1, 0]);
    }
  });

  it('document: drops documents whose mean token score passes the threshold', () => {
    // mean scores: doc0 = 1.8/4 = 0.45, doc1 = 0.1, doc2 = 3.51/4 = 0.8775
    const r = filterTokens(tokens, scores, { mode: 'document', threshold: 0.4, eotId: EOT });
    expect(Array.from(r.tokens)).toEqual([8, 9, EOT]);
    expect(Array.from(r.lossMask)).toEqual([1, 1, 1]);
    expect(Array.from(r.docsKept)).toEqual([0, 1, 0]);
    expect(r.stats).toMatchObject({ flaggedTokens: 8, supervisedTokens: 3, documentsDropped: 2, documentsEmptied: 0 });
  });

  it('document: uses given document scores', () => {
    const r = filterTokens(tokens, scores, {
      mode: 'document', threshold: 0.5, eotId: EOT, documentScores: new Float32Array([0.1, 0.7, 0.2]),
    });
    expect(Array.from(r.docsKept)).toEqual([1, 0, 1]);
    expect(Array.from(r.tokens)).toEqual([5, 6, 7, EOT, 10, 11, 12, 13]);
  });

  it('fraction: token modes flag the top tokens, document mode the top documents', () => {
    const r = filterTokens(tokens, scores, { mode: 'mask', fraction: 3 / 11, eotId: EOT });
    expect(r.stats.flaggedTokens).toBe(3);
    expect(r.stats.threshold).toBeCloseTo(0.95, 6);
    expect(Array.from(r.lossMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1]);
    const d = filterTokens(tokens, scores, { mode: 'document', fraction: 0.3, eotId: EOT });
    // the highest-scoring document (doc2, 4 of 11 tokens = 36%) already reaches 30%
    expect(Array.from(d.docsKept)).toEqual([1, 1, 0]);
    expect(d.stats.flaggedFraction).toBeCloseTo(4 / 11, 12);
    const none = filterTokens(tokens, scores, { mode: 'remove', fraction: 0, hiddenId: HIDDEN });
    expect(none.stats.flaggedTokens).toBe(0);
  });

  it('quantised scores behave like the probabilities they encode', () => {
    const q = Uint8Array.from(scores, (p) => Math.round(p * 255));
    for (const threshold of [0, 0.2, 0.5, 0.8, 0.95, 1]) {
      const a = filterTokens(tokens, q, { mode: 'mask', threshold });
      const expected = Array.from(q, (v) => (v / 255 >= threshold ? 0 : 1));
      expect(Array.from(a.lossMask)).toEqual(expected);
    }
  });

  it('statistics add up and report per-label counts and forget precision/recall', () => {
    const r = filterTokens(tokens, scores, {
      mode: 'mask', threshold: 0.5, eotId: EOT, labels, labelNames: ['general', 'medical', 'biology'], forgetLabel: 1,
    });
    const per = r.stats.perLabel!;
    expect(per).toEqual({
      general: { tokens: 4, filtered: 1 },
      medical: { tokens: 5, filtered: 5 },
      biology: { tokens: 2, filtered: 0 },
    });
    const sumTokens = Object.values(per).reduce((a, e) => a + e.tokens, 0);
    const sumFiltered = Object.values(per).reduce((a, e) => a + e.filtered, 0);
    expect(sumTokens).toBe(r.stats.tokens);
    expect(sumFiltered).toBe(r.stats.flaggedTokens);
    expect(r.stats.flaggedTokens + r.stats.supervisedTokens).toBe(r.stats.tokens);
    expect(r.stats.forget!.precision).toBeCloseTo(5 / 6, 12);
    expect(r.stats.forget!.recall).toBe(1);
  });

  it('rejects bad input with errors that name the problem', () => {
    expect(() => filterTokens([1, 2] as unknown as Uint32Array, scores, { mode: 'mask', threshold: 0.5 })).toThrow(/tokens must be a Uint32Array/);
    expect(() => filterTokens(tokens, scores.subarray(1), { mode: 'mask', threshold: 0.5 })).toThrow(/scores has length 10/);
    expect(() => filterTokens(tokens, scores, { mode: 'cut' as never, threshold: 0.5 })).toThrow(/options.mode/);
    expect(() => filterTokens(tokens, scores, { mode: 'mask' })).toThrow(/exactly one of/);
    expect(() => filterTokens(tokens, scores, { mode: 'mask', threshold: 0.5, fraction: 0.1 })).toThrow(/exactly one of/);
    expect(() => filterTokens(tokens, scores, { mode: 'mask', threshold: 1.5 })).toThrow(RangeError);
    expect(() => filterTokens(tokens, scores, { mode: 'remove', threshold: 0.5 })).toThrow(/hiddenId/);
    expect(() => filterTokens(tokens, scores, { mode: 'document', threshold: 0.5 })).toThrow(/eotId/);
    expect(() => filterTokens(tokens, scores, { mode: 'mask', threshold: 0.5, treshold: 1 } as never)).toThrow(/unknown filterTokens option 'treshold'/);
    const nan = scores.slice();
    nan[3] = Number.NaN;
    expect(() => filterTokens(tokens, nan, { mode: 'mask', threshold: 0.5 })).toThrow(/scores\[3\] = NaN/);
    expect(() =>
      filterTokens(tokens, scores, { mode: 'document', threshold: 0.5, eotId: EOT, documentScores: new Float32Array(2) }),
    ).toThrow(/expected one per document \(3\)/);
  });
});

describe('filterTokens on a long stream', () => {
  it('matches a plain reference across chunk boundaries, for any thread count', () => {
    const n = 3_500_000; // several native chunks of 2^20 tokens
    const toks = new Uint32Array(n);
    const sc = new Float32Array(n);
    const lab = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      // long documents, some fully flagged (scores 0.99), others mixed
      const doc = Math.floor(i / 150_001);
      toks[i] = Math.random() < 1 / 500 ? EOT : 2 + (i % 1000);
      sc[i] = doc % 3 === 0 ? 0.99 : Math.random();
      lab[i] = sc[i] > 0.9 ? 1 : 0;
    }
    toks[n - 1] = 7; // an unterminated tail document
    let flagged = 0;
    let documents = 0;
    let emptied = 0;
    let supervised = 0;
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      mask[i] = sc[i] >= 0.7 && toks[i] !== EOT ? 0 : 1;
      flagged += 1 - mask[i];
      if (toks[i] !== EOT) supervised += mask[i];
      if (toks[i] === EOT || i === n - 1) {
        documents++;
        if (supervised === 0) emptied++;
        supervised = 0;
      }
    }
    const threads = backendInfo().threads;
    const results = [1, 2].map((t) => {
      setThreads(t);
      return filterTokens(toks, sc, { mode: 'remove', threshold: 0.7, hiddenId: HIDDEN, eotId: EOT, labels: lab });
    });
    setThreads(threads);
    const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
      return a.length === b.length ? -1 : a.length;
    };
    for (const r of results) {
      expect(firstDifference(r.lossMask, mask)).toBe(-1);
      expect(r.stats.flaggedTokens).toBe(flagged);
      expect(r.stats.documents).toBe(documents);
      expect(r.stats.documentsEmptied).toBe(emptied);
      expect(emptied).toBeGreaterThan(0);
    }
    expect(firstDifference(results[0].tokens, results[1].tokens)).toBe(-1);
  });
});

describe('thresholdForFraction', () => {
  it('matches a sort on random float scores', () => {
    const n = 10_001;
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) s[i] = Math.random();
    const sorted = Array.from(s).sort((a, b) => b - a);
    for (const f of [0.001, 0.0625, 0.25, 0.5, 1]) {
      const k = Math.round(f * n);
      const t = thresholdForFraction(s, f);
      expect(t).toBe(sorted[k - 1]);
      let flagged = 0;
      for (const v of s) if (v >= t) flagged++;
      expect(flagged).toBe(k);
    }
    expect(thresholdForFraction(s, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('handles quantised scores and ties', () => {
    const q = new Uint8Array([255, 255, 128, 0, 0]);
    expect(thresholdForFraction(q, 0.4)).toBe(1);
    expect(thresholdForFraction(q, 0.6)).toBeCloseTo(128 / 255, 12);
    expect(() => thresholdForFraction(q, 2)).toThrow(RangeError);
  });
});
