import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DocumentClassifier } from '../../../lib/classify/document_classifier.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { documentClassifierPathFor, documentClassifierScores } from '../../../lib/experiment/document_scores.js';
import { filterTokens } from '../../../lib/filter/filter_tokens.js';
import { GENERAL, MEDICAL, tinyBiLM } from '../classify/fixtures.js';

describe('documentClassifierScores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-docscores-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores every document of a stream with the document classifier, caches, and drives the document filter', async () => {
    const bilm = await tinyBiLM();
    const bilmPath = join(dir, 'clf.bilm.safetensors');
    await bilm.save(bilmPath);
    const tok = bilm.tokenizer;
    const words = (s: string, a: number, b: number) => s.split(' ').slice(a, b).join(' ');
    const doc = (text: string, label: 0 | 1) => ({ tokens: tok.encode(text), label });
    const train = [0, 2, 4, 6].flatMap((a) => [doc(words(MEDICAL, a, a + 8), 1), doc(words(GENERAL, a, a + 8), 0)]);
    const { classifier } = await DocumentClassifier.train({ bilm, bilmPath, train, val: train, layers: [1] });
    const path = documentClassifierPathFor(join(dir, 'clf.safetensors'));
    expect(path).toBe(join(dir, 'clf.document.safetensors'));
    await classifier.save(path);

    // a stream of documents, each ending with <|endoftext|>, medical and general alternating
    const docs = [1, 3, 5].flatMap((a) => [tok.encode(words(GENERAL, a, a + 9)), tok.encode(words(MEDICAL, a, a + 9))]);
    const tokens = Uint32Array.from(docs.flatMap((d) => [...d, tok.eotId]));
    const cachePath = join(dir, 'documents.json');
    const scores = await documentClassifierScores({ classifierPath: path, tokens, eotId: tok.eotId, tokenizerHash: tok.hash, cachePath });
    expect(Array.from(scores)).toEqual(Array.from(await classifier.scoreDocuments(docs)));
    // the medical documents score higher; at a third of the tokens the filter drops medical documents only
    for (let d = 0; d < docs.length; d += 2) expect(scores[d + 1]).toBeGreaterThan(scores[d]);
    const filtered = filterTokens(tokens, new Float32Array(tokens.length), { mode: 'document', fraction: 0.3, eotId: tok.eotId, documentScores: scores });
    expect(Array.from(filtered.docsKept)).toEqual(Array.from(scores, (s) => (s >= filtered.stats.threshold ? 0 : 1)));
    expect(filtered.docsKept.filter((k, d) => d % 2 === 1 && k === 0).length).toBe(filtered.stats.documentsDropped);

    // the cache is reused (a marked cache comes back as stored) and ignored for another stream
    const cached = JSON.parse(readFileSync(cachePath, 'utf8'));
    cached.scores = cached.scores.map(() => 0.25);
    writeFileSync(cachePath, JSON.stringify(cached));
    expect(Array.from(await documentClassifierScores({ classifierPath: path, tokens, eotId: tok.eotId, tokenizerHash: tok.hash, cachePath }))).toEqual(docs.map(() => 0.25));
    const shorter = tokens.subarray(0, tokens.length - docs[5].length - 1);
    expect((await documentClassifierScores({ classifierPath: path, tokens: shorter, eotId: tok.eotId, tokenizerHash: tok.hash, cachePath })).length).toBe(5);

    // another tokenizer or a missing file is refused with a code
    const refused = async (options: Partial<Parameters<typeof documentClassifierScores>[0]>, code: string) => {
      let caught: unknown;
      try {
        await documentClassifierScores({ classifierPath: path, tokens, eotId: tok.eotId, tokenizerHash: tok.hash, cachePath: join(dir, 'other.json'), ...options });
      } catch (error) {
        caught = error;
      }
      expect(isTokenfilterError(caught, code as 'E_IO')).toBe(true);
    };
    await refused({ tokenizerHash: '0'.repeat(64) }, 'E_TOKENIZER_MISMATCH');
    await refused({ classifierPath: join(dir, 'missing.document.safetensors') }, 'E_IO');
  });
});
