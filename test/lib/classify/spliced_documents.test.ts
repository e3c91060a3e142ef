import { describe, expect, it } from 'vitest';
import { Random } from '../../../lib/data/random.js';
import { paragraphsOf, spliceDocuments } from '../../../lib/classify/spliced_documents.js';

const POOLS = {
  medical: ['m0 the patient took insulin', 'm1 a fever with a cough', 'm2 the dose was halved'],
  general: ['g0 the castle by the river', 'g1 a feast in the town'],
  biology: ['b0 the cell divides in two'],
};

describe('paragraphsOf', () => {
  it('splits at blank lines (spaces allowed), trims, and drops short pieces', () => {
    const text = '  first paragraph here  \n\nsecond one\n \t\nx\n\nthird\nwith a single newline';
    expect(paragraphsOf(text, 5)).toEqual(['first paragraph here', 'second one', 'third\nwith a single newline']);
    expect(paragraphsOf('', 1)).toEqual([]);
  });
});

describe('spliceDocuments', () => {
  it('joins paragraphs with blank lines and every span covers exactly its paragraph', () => {
    const docs = spliceDocuments(POOLS, { count: 50, weights: { medical: 1, general: 1, biology: 1 }, random: new Random(3), minParagraphs: 2, maxParagraphs: 5 });
    expect(docs).toHaveLength(50);
    for (const doc of docs) {
      expect(doc.spans.length).toBeGreaterThanOrEqual(2);
      expect(doc.spans.length).toBeLessThanOrEqual(5);
      const pieces = doc.text.split('\n\n');
      expect(pieces).toHaveLength(doc.spans.length);
      doc.spans.forEach(([start, end, domain], i) => {
        const piece = doc.text.slice(start, end);
        expect(piece).toBe(pieces[i]);
        expect(POOLS[domain as keyof typeof POOLS]).toContain(piece);
      });
      expect(doc.spans[doc.spans.length - 1][1]).toBe(doc.text.length);
    }
  });

  it('draws domains by weight, takes each pool in order, and is reproducible per seed', () => {
    const make = (seed: number) => spliceDocuments(POOLS, { count: 400, weights: { medical: 3, general: 1 }, random: new Random(seed) });
    const docs = make(5);
    const domains = docs.flatMap((d) => d.spans.map((s) => s[2]));
    const share = domains.filter((d) => d === 'medical').length / domains.length;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
    expect(domains).not.toContain('biology');
    const medical = docs.flatMap((d) => d.spans.filter((s) => s[2] === 'medical').map(([a, b]) => d.text.slice(a, b)));
    expect(medical.slice(0, 4)).toEqual([...POOLS.medical, POOLS.medical[0]]);
    expect(make(5)).toEqual(docs);
    expect(make(6)).not.toEqual(docs);
  });

  it('cuts long paragraphs to a piece of the requested length', () => {
    const long = 'abcdefghij'.repeat(30);
    const docs = spliceDocuments({ general: [long] }, { count: 20, weights: { general: 1 }, maxParagraphChars: 25, random: new Random(1) });
    for (const doc of docs) {
      for (const [start, end] of doc.spans) {
        expect(end - start).toBe(25);
        expect(long).toContain(doc.text.slice(start, end));
      }
    }
  });

  it('refuses bad counts, weights and empty pools', () => {
    const random = new Random(1);
    expect(() => spliceDocuments(POOLS, { count: -1, weights: { medical: 1 }, random })).toThrow(/count/);
    expect(() => spliceDocuments(POOLS, { count: 1, weights: { medical: Number.NaN }, random })).toThrow(/weight of medical/);
    expect(() => spliceDocuments(POOLS, { count: 1, weights: { medical: 0 }, random })).toThrow(/positive weight/);
    expect(() => spliceDocuments(POOLS, { count: 1, weights: { chemistry: 1 }, random })).toThrow(/no paragraphs for domain chemistry/);
    expect(() => spliceDocuments(POOLS, { count: 1, weights: { medical: 1 }, minParagraphs: 4, maxParagraphs: 2, random })).toThrow(/paragraphs per document/);
  });
});
