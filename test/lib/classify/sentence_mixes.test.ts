import { describe, expect, it } from 'vitest';
import { insertableSentences, insertedCount, mixSentences, sentencesOf } from '../../../lib/classify/sentence_mixes.js';
import { Random } from '../../../lib/data/random.js';

const words = (random: Random, prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${Math.floor(random.next() * 1e6)}w${i}`).join(' ');

/** Paragraphs of `count` sentences each, every sentence unique and tagged by `tag`. */
function paragraphs(tag: string, n: number, seed: number): string[] {
  const random = new Random(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + Math.floor(random.next() * 8) }, () => `${tag.toUpperCase()} ${words(random, tag, 6 + Math.floor(random.next() * 10))}.`).join(' '),
  );
}

describe('sentencesOf', () => {
  it('cuts at sentence ends followed by a capital, keeps abbreviations before lower case', () => {
    expect(sentencesOf('Take 5 mg daily. The dose (e.g. for adults) is fixed! "Really?" Yes.')).toEqual([
      'Take 5 mg daily.', 'The dose (e.g. for adults) is fixed!', '"Really?"', 'Yes.',
    ]);
  });
});

describe('mixSentences', () => {
  const medical = insertableSentences(paragraphs('med', 200, 1));
  const hosts = [...paragraphs('gen', 150, 2), ...paragraphs('bio', 150, 3)];

  it('gives exact spans: each span text is an inserted sentence, and no other text is one', () => {
    const docs = mixSentences(hosts, medical, { count: 300, random: new Random(5) });
    const inserted = new Set(medical);
    let spans = 0;
    for (const d of docs) {
      expect(d.spans.length).toBe(d.insertedSentences);
      for (const [start, end, label] of d.spans) {
        expect(label).toBe('medical');
        expect(inserted.has(d.text.slice(start, end))).toBe(true);
        // whole sentences on the host's line: bounded by a space, a line start or the text's ends
        expect(start === 0 || /[ \n]/.test(d.text[start - 1])).toBe(true);
        expect(end === d.text.length || /[ \n]/.test(d.text[end])).toBe(true);
      }
      // every MED sentence of the text is covered by a span, nothing else is
      let outside = d.text;
      for (const [start, end] of [...d.spans].reverse()) outside = outside.slice(0, start) + outside.slice(end);
      expect(outside.includes('MED')).toBe(false);
      spans += d.spans.length;
    }
    expect(spans).toBeGreaterThan(200);
    // medical sentences sit inside host paragraphs (same line) in most documents that have any
    const sameLine = docs.filter((d) => d.spans.some(([s, e]) => /[^\n]/.test(d.text.slice(Math.max(0, s - 2), s)) && e < d.text.length && d.text[e] !== '\n'));
    expect(sameLine.length).toBeGreaterThan(docs.filter((d) => d.spans.length > 0).length / 2);
  });

  it('inserts at the rates asked, documents with none included', () => {
    const rates = [0, 0.1, 0.3];
    const docs = mixSentences(hosts, medical, { count: 600, rates, random: new Random(9) });
    for (const d of docs) {
      expect(rates).toContain(d.rate);
      expect(d.insertedSentences).toBe(insertedCount(d.hostSentences, d.rate));
      if (d.rate > 0) {
        const share = d.insertedSentences / (d.insertedSentences + d.hostSentences);
        // rounding to whole sentences moves the share by at most half a sentence
        expect(Math.abs(share - d.rate)).toBeLessThanOrEqual(0.5 / (d.hostSentences * (1 - d.rate)) + 1e-9 + (d.insertedSentences === 1 ? 1 : 0));
      }
    }
    for (const r of rates) {
      const some = docs.filter((d) => d.rate === r);
      expect(some.length).toBeGreaterThan(150);
      const inserted = some.reduce((n, d) => n + d.insertedSentences, 0);
      const total = some.reduce((n, d) => n + d.insertedSentences + d.hostSentences, 0);
      expect(Math.abs(inserted / total - r)).toBeLessThan(0.03);
    }
    expect(docs.filter((d) => d.spans.length === 0).length).toBeGreaterThan(150);
  });

  it('takes text only from the pools it is given (train mixes hold no val text)', () => {
    const valMedical = insertableSentences(paragraphs('vmed', 50, 21));
    const valHosts = paragraphs('vgen', 50, 22);
    const train = mixSentences(hosts, medical, { count: 200, random: new Random(1) });
    const val = mixSentences(valHosts, valMedical, { count: 50, random: new Random(2) });
    const valSentences = new Set(val.flatMap((d) => sentencesOf(d.text.replace(/\n\n/g, ' '))));
    for (const d of train) for (const s of sentencesOf(d.text.replace(/\n\n/g, ' '))) expect(valSentences.has(s)).toBe(false);
    expect(train.every((d) => !/VMED|VGEN/.test(d.text))).toBe(true);
  });

  it('rejects bad rates and empty pools with RangeError', () => {
    expect(() => mixSentences(hosts, medical, { count: 1, rates: [1], random: new Random(1) })).toThrow(RangeError);
    expect(() => mixSentences([], medical, { count: 1, random: new Random(1) })).toThrow(RangeError);
    expect(() => mixSentences(hosts, [], { count: 1, random: new Random(1) })).toThrow(RangeError);
  });
});
