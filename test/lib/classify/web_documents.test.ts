import { describe, expect, it } from 'vitest';
import { Random } from '../../../lib/data/random.js';
import { insertedCount, sentencesOf } from '../../../lib/classify/sentence_mixes.js';
import { DEFAULT_WEB_RATES, hostChunks, webDocuments, type HostDocument } from '../../../lib/classify/web_documents.js';
import { isTokenfilterError } from '../../../lib/errors.js';

/** Documents of `lines` lines of 2–6 sentences each; every sentence unique and tagged by `tag`. */
function documents(tag: string, n: number, lines: [number, number], seed: number): string[] {
  const random = new Random(seed);
  let id = 0;
  const sentence = () => `${tag.toUpperCase()} ${Array.from({ length: 6 + Math.floor(random.next() * 12) }, () => `${tag}${id++}`).join(' ')}.`;
  return Array.from({ length: n }, () =>
    Array.from({ length: lines[0] + Math.floor(random.next() * (lines[1] - lines[0] + 1)) }, () =>
      Array.from({ length: 2 + Math.floor(random.next() * 5) }, sentence).join(' ')).join('\n'));
}

const general = documents('gen', 60, [8, 30], 1);
const biology = documents('bio', 20, [4, 12], 2);
const medical = documents('med', 400, [2, 8], 3);
const hosts: HostDocument[] = [...general.map((text) => ({ text, domain: 'general' })), ...biology.map((text) => ({ text, domain: 'biology' }))];

describe('hostChunks', () => {
  it('cuts a document into runs of whole lines of at most maxChars, keeping every sentence once', () => {
    const text = general[0];
    const chunks = hostChunks(text, 400);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      const chars = c.reduce((n, p) => n + p.join(' ').length + 1, 0);
      expect(chars <= 401 || c.length === 1).toBe(true);
    }
    expect(chunks.flat(2)).toEqual(text.split('\n').flatMap(sentencesOf));
  });
});

describe('webDocuments', () => {
  const docs = [...webDocuments(hosts, medical, { random: new Random(11) })];

  it('gives exact spans: every piece is one whole sentence of its own domain, and spans tile the text but for separators', () => {
    const known = new Map<string, string>();
    for (const [texts, domain] of [[general, 'general'], [biology, 'biology'], [medical, 'medical']] as const)
      for (const t of texts) for (const s of t.split('\n').flatMap(sentencesOf)) known.set(s, domain);
    for (const d of docs) {
      let covered = 0;
      let last = 0;
      for (const [start, end, label] of d.spans) {
        const piece = d.text.slice(start, end);
        expect(known.get(piece)).toBe(label);
        // only a space or a line break between consecutive pieces
        expect(/^[ \n]?$/.test(d.text.slice(last, start))).toBe(true);
        last = end;
        covered += end - start;
      }
      expect(last).toBe(d.text.length);
      expect(d.forgetChars).toBe(d.spans.filter((s) => s[2] === 'medical').reduce((n, [s, e]) => n + e - s, 0));
      // nothing tagged MED outside a medical span
      let outside = d.text;
      for (const [start, end, label] of [...d.spans].reverse()) if (label === 'medical') outside = outside.slice(0, start) + outside.slice(end);
      expect(outside.includes('MED')).toBe(false);
      expect(covered).toBeGreaterThan(0);
    }
  });

  it('inserts at the rates asked: sentence counts follow insertedCount, mid-paragraph and whole paragraphs both occur', () => {
    let midParagraph = 0;
    let wholeParagraphs = 0;
    for (const d of docs) {
      expect(DEFAULT_WEB_RATES).toContain(d.rate);
      const medicalPieces = d.spans.filter((s) => s[2] === 'medical').length;
      const hostPieces = d.spans.length - medicalPieces;
      if (d.rate === 1) {
        expect(d.host).toBe('medical');
        expect(hostPieces).toBe(0);
        continue;
      }
      expect(medicalPieces).toBe(insertedCount(hostPieces, d.rate));
      for (const line of d.text.split('\n')) {
        if (!line.includes('MED')) continue;
        if (/GEN|BIO/.test(line)) midParagraph++;
        else wholeParagraphs++;
      }
    }
    expect(midParagraph).toBeGreaterThan(50);
    expect(wholeParagraphs).toBeGreaterThan(20);
    const share = (r: number) => docs.filter((d) => d.rate === r).length / docs.length;
    expect(share(0)).toBeGreaterThan(0.4);
    expect(share(0)).toBeLessThan(0.6);
  });

  it('puts 10–25% forget-domain text in the stream, most of it in documents that are mostly not forget-domain', () => {
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    const forget = docs.reduce((n, d) => n + d.forgetChars, 0);
    const inMostlyRetain = docs.filter((d) => d.forgetChars / d.text.length < 0.5).reduce((n, d) => n + d.forgetChars, 0);
    expect(forget / chars).toBeGreaterThan(0.1);
    expect(forget / chars).toBeLessThan(0.25);
    expect(inMostlyRetain / forget).toBeGreaterThan(0.5);
  });

  it('is reproducible from its seed and refuses bad options with E_OPTION', () => {
    const again = [...webDocuments(hosts, medical, { random: new Random(11) })];
    expect(again.map((d) => d.text)).toEqual(docs.map((d) => d.text));
    const other = [...webDocuments(hosts, medical, { random: new Random(12) })];
    expect(other.map((d) => d.text)).not.toEqual(docs.map((d) => d.text));
    for (const bad of [{ rates: [] }, { rates: [1.5] }, { maxChars: 10 }, { paragraphShare: 2 }]) {
      let caught: unknown;
      try {
        [...webDocuments(hosts, medical, { random: new Random(1), ...bad })];
      } catch (error) {
        caught = error;
      }
      expect(isTokenfilterError(caught, 'E_OPTION')).toBe(true);
    }
  });
});
