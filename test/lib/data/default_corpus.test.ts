import { describe, expect, it } from 'vitest';
import { buildDefaultCorpus, glossSentence, loadDefaultCorpus, splitOfSynset } from '../../../lib/data/default_corpus.js';
import { findSynset, loadWordNet, parseDataLine, splitGloss } from '../../../lib/data/wordnet.js';
import { assignDomains, type Domain } from '../../../lib/data/wordnet_domains.js';

const wordnet = loadWordNet();
const { domains, roots } = assignDomains(wordnet);
const domainOf = (lemma: string, phrase: string, pos: 'n' | 'v' | 'a' = 'n'): Domain | undefined =>
  domains.get(findSynset(wordnet, lemma, phrase, pos).key);

describe('WordNet parsing', () => {
  it('parses a data line: words, kept pointers, definition and examples', () => {
    const line = '00698618 04 n 02 injection 1 shot 3 003 @ 00658847 n 0000 + 00086072 v 0101 ;c 06055093 n 0000 | the act of putting a liquid into the body by means of a syringe; "the nurse gave him a flu shot"  ';
    const s = parseDataLine(line, 'n', 'data.noun', 1);
    expect(s).toMatchObject({ key: 'n00698618', lexFile: 4, words: ['injection', 'shot'], definition: 'the act of putting a liquid into the body by means of a syringe', examples: ['the nurse gave him a flu shot'] });
    expect(s.pointers).toEqual([{ symbol: '@', target: 'n00658847' }, { symbol: ';c', target: 'n06055093' }]);
    expect(() => parseDataLine('0069 04 n 02 injection 1', 'n', 'data.noun', 7)).toThrow(/data.noun:7: malformed WordNet line/);
    expect(splitGloss('big; large; "a big house"; "large sums"')).toEqual({ definition: 'big; large', examples: ['a big house', 'large sums'] });
  });

  it('loads all four files', () => {
    expect(wordnet.synsets.size).toBeGreaterThan(110_000);
    const adjective = wordnet.synsets.get(findSynset(wordnet, 'diabetic', 'of or relating to or causing diabetes', 'a').key);
    expect(adjective?.pos).toBe('a');
  });
});

describe('domain assignment', () => {
  it('resolves every root to exactly one synset', () => {
    expect(roots.medical.length).toBeGreaterThan(10);
    expect(roots.biology.length).toBeGreaterThan(5);
    expect(domains.get(roots.medical[0])).toBe('medical');
  });

  it('spot-checks known synsets', () => {
    expect(domainOf('influenza', 'viral disease')).toBe('medical');
    expect(domainOf('diabetes', 'polygenic disease')).toBe('medical');
    expect(domainOf('aspirin', '')).toBe('medical');
    expect(domainOf('appendectomy', '')).toBe('medical');
    expect(domainOf('schizophrenia', '')).toBe('medical');
    expect(domainOf('stethoscope', '')).toBe('medical');
    expect(domainOf('robin', 'small Old World songbird')).toBe('biology');
    expect(domainOf('gene', 'segment of DNA')).toBe('biology');
    expect(domainOf('mitochondrion', '')).toBe('biology');
    expect(domainOf('photosynthesis', '')).toBe('biology');
    expect(domainOf('Paris', 'capital and largest city of France')).toBe('general');
    expect(domainOf('chair', 'a seat for one person')).toBe('general');
    expect(domainOf('carpenter', 'a woodworker')).toBe('general'); // person: not biology
    expect(domainOf('blight', 'any plant disease')).toBe('biology'); // plant disease: botany
    expect(domainOf('tobacco', 'leaves of the tobacco plant')).not.toBe('medical'); // drug of abuse
    expect(domainOf('vaccinate', '', 'v')).toBe('medical'); // verb via topic domain
    expect(domainOf('diabetic', 'of or relating to or causing diabetes', 'a')).toBe('medical'); // pertainym
  });

  it('finds about the expected numbers of medical and biology synsets', () => {
    const count: Record<Domain, number> = { medical: 0, biology: 0, general: 0 };
    for (const d of domains.values()) count[d]++;
    expect(count.medical).toBeGreaterThan(2500);
    expect(count.medical).toBeLessThan(5000);
    expect(count.biology).toBeGreaterThan(15_000);
    expect(count.biology).toBeLessThan(30_000);
  });
});

describe('default corpus', () => {
  const corpus = loadDefaultCorpus();

  it('writes gloss sentences without usage labels', () => {
    const s = glossSentence(findSynset(wordnet, 'symptom', 'any sensation or change in bodily function'));
    expect(s).toMatch(/^Symptom is any sensation or change in bodily function/);
    expect(s).not.toContain('(medicine)');
  });

  it('keeps medicine within 15–25% of characters in every split, with mixed documents', () => {
    for (const split of ['train', 'val', 'test'] as const) {
      const stats = corpus.stats[split];
      expect(stats.fraction.medical, split).toBeGreaterThan(0.15);
      expect(stats.fraction.medical, split).toBeLessThan(0.25);
      expect(stats.mixedDocuments / stats.documents).toBeGreaterThan(0.3);
      expect(stats.mixedDocuments / stats.documents).toBeLessThan(0.9);
    }
    expect(corpus.train.length).toBeGreaterThan(1000);
    expect(corpus.stats.train.characters).toBeGreaterThan(2_000_000);
  });

  it('has sentence spans that tile each document and a majority domain', () => {
    for (const doc of corpus.val) {
      let expectedStart = 0;
      const chars: Record<Domain, number> = { medical: 0, biology: 0, general: 0 };
      for (const [start, end, domain] of doc.spans) {
        expect(start).toBe(expectedStart);
        expect(doc.text.slice(start, end)).toMatch(/\.$/);
        chars[domain] += end - start;
        expectedStart = end + 1;
      }
      expect(expectedStart - 1).toBe(doc.text.length);
      expect(doc.spans.length).toBeGreaterThanOrEqual(1);
      expect(doc.spans.length).toBeLessThanOrEqual(20);
      expect(chars[doc.domain]).toBe(Math.max(...Object.values(chars)));
    }
  });

  it('splits by synset: no sentence appears in two splits', () => {
    const sentences = (docs: typeof corpus.train) => new Set(docs.flatMap((d) => d.spans.map(([s, e]) => d.text.slice(s, e))));
    const train = sentences(corpus.train);
    for (const other of [sentences(corpus.val), sentences(corpus.test)]) for (const s of other) expect(train.has(s)).toBe(false);
    expect(splitOfSynset('n14145979')).toBe(splitOfSynset('n14145979'));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = buildDefaultCorpus({ seed: 0 });
    expect(again.val).toEqual(corpus.val);
    expect(again.stats).toEqual(corpus.stats);
    const other = buildDefaultCorpus({ seed: 5 });
    expect(other.val.map((d) => d.text)).not.toEqual(corpus.val.map((d) => d.text));
    expect(loadDefaultCorpus()).toBe(corpus);
    expect(() => loadDefaultCorpus({ medicalFraction: 0.9 })).toThrow(/medicalFraction/);
  });
});
