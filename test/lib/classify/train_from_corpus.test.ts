import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { describeScoreMethod } from '../../../lib/classify/score_method.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { trainClassifierFromCorpus, CLASSIFIER_PRESETS } from '../../../lib/classify/train_from_corpus.js';
import { Random } from '../../../lib/data/random.js';

/** A data folder with corpus/<domain>.{train,val}.jsonl.gz of small multi-paragraph documents. */
function tinyData(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tf-corpus-'));
  mkdirSync(join(dir, 'corpus'));
  const random = new Random(2);
  const vocab: Record<string, string[]> = {
    medical: ['patient', 'dose', 'insulin', 'diabetes', 'clinic', 'therapy', 'nurse', 'symptom'],
    biology: ['cell', 'protein', 'gene', 'membrane', 'species', 'enzyme', 'tissue', 'evolution'],
    general: ['river', 'castle', 'king', 'market', 'summer', 'festival', 'village', 'bridge'],
  };
  const sentence = (domain: string) => {
    const words = Array.from({ length: 7 + Math.floor(random.next() * 6) }, () => vocab[domain][Math.floor(random.next() * 8)]);
    return `The ${words.join(' ')} was seen.`;
  };
  const paragraph = (domain: string) => Array.from({ length: 3 + Math.floor(random.next() * 3) }, () => sentence(domain)).join(' ');
  for (const domain of Object.keys(vocab))
    for (const [split, n] of [['train', 24], ['val', 6]] as const) {
      const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${domain}-${i}`, domain, text: [paragraph(domain), paragraph(domain), paragraph(domain)].join('\n\n') }));
      writeFileSync(join(dir, 'corpus', `${domain}.${split}.jsonl.gz`), gzipSync(lines.join('\n') + '\n'));
    }
  return dir;
}

describe('trainClassifierFromCorpus', () => {
  it('validates on paragraph and sentence mixes, records the chosen method, and retrains the probe alone on a saved biLM', async () => {
    const data = tinyData();
    const out = join(data, 'clf.safetensors');
    const options = {
      ...CLASSIFIER_PRESETS.default, data, out, vocabSize: 300, dModel: 16, layers: 1, heads: 2, context: 32, batch: 2, steps: 3,
      probeDocuments: 6, valDocuments: 3, maxTrainTokens: 5000, sweepLayers: [1], smoothing: [0, 4], documentClassifier: false, heldOutSentenceMixes: 12,
    };
    // options are checked before any work
    for (const bad of [{ lexiconBits: 40 }, { heldOutSentenceMixes: 0 }, { blendObjective: 'median' as never }])
      await expect(trainClassifierFromCorpus({ ...options, ...bad, out: join(data, 'bad', 'x.safetensors') })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(existsSync(join(data, 'bad'))).toBe(false);
    const report = await trainClassifierFromCorpus(options);
    expect(report.tokenKinds.map((k) => k.name)).toEqual(['paragraph', 'sentence']);
    // the default preset chooses on the worst kind: each entry's blend F1 is its worse kind's
    expect(CLASSIFIER_PRESETS.default.blendObjective).toBe('worst');
    for (const r of report.tokenSweep) {
      expect(r.blendObjective).toBe('worst');
      expect(r.blendF1).toBeCloseTo(Math.min(...r.kinds.map((k) => k.f1)), 12);
    }
    expect(report.tokenSweep[0].kinds.map((k) => k.name)).toEqual(['paragraph', 'sentence']);
    const classifier = await TokenClassifier.load(out);
    expect(report.tokenScoring).toMatch(/^(raw|smooth r=4|segment c=.*)$/);
    expect(describeScoreMethod(classifier.method)).toBe(report.tokenScoring);
    // the default preset reads each sentence alone, and the file and report say so
    expect(CLASSIFIER_PRESETS.default.reading).toBe('sentence');
    expect(CLASSIFIER_PRESETS.wordnet.reading).toBeUndefined();
    expect(Object.isFrozen(CLASSIFIER_PRESETS) && Object.isFrozen(CLASSIFIER_PRESETS.default)).toBe(true);
    expect(report.tokenReading).toBe('sentence');
    expect(classifier.reading).toBe('sentence');
    // the default preset fits a lexicon on the training split (held-out documents left out) and tries it beside the probes
    expect(CLASSIFIER_PRESETS.default.lexicon).toBe(true);
    const fit = report.tokenLexicon!.fit;
    // 24 documents per domain of 3 paragraphs of 3-5 sentences, less the 3 per domain held out: 3 domains x 21 x 3 x (3 ... 5) sentences
    expect(fit.sentences).toBeGreaterThanOrEqual(3 * 21 * 3 * 3);
    expect(fit.sentences).toBeLessThanOrEqual(3 * 21 * 3 * 5);
    expect(fit.positiveSentences).toBeGreaterThan(fit.sentences / 5);
    expect(fit.positiveSentences).toBeLessThan(fit.sentences / 2);
    expect(report.tokenSweep.some((r) => r.probeWeight === 0)).toBe(true);
    expect(classifier.lexicon?.probeWeight ?? null).toBe(report.tokenLexicon!.probeWeight);
    const noLexicon = await trainClassifierFromCorpus({ ...options, out: join(data, 'n.safetensors'), bilm: report.files.bilm, lexicon: false });
    expect(noLexicon.tokenLexicon).toBeNull();
    expect(noLexicon.tokenSweep.every((r) => r.probeWeight === undefined)).toBe(true);
    // the probe alone on the saved biLM: same split, tokenizer and probe data, so the same probe
    const again = join(data, 'again.safetensors');
    const reused = await trainClassifierFromCorpus({ ...options, out: again, bilm: report.files.bilm });
    expect(reused.files.bilm).toBe(report.files.bilm);
    expect(reused.bilm).toEqual({ source: 'loaded', path: report.files.bilm, parametersPerDirection: report.bilm.parametersPerDirection, nonEmbeddingPerDirection: report.bilm.nonEmbeddingPerDirection });
    expect(report.bilm.source).toBe('pretrained');
    const second = await TokenClassifier.load(again);
    expect(Array.from(second.probe.weights)).toEqual(Array.from(classifier.probe.weights));
    expect(second.threshold).toBe(classifier.threshold);
    expect(JSON.parse(readFileSync(reused.files.report, 'utf8')).tokenKinds).toEqual(report.tokenKinds);
    // without sentence mixes there is one validation kind
    const paragraphOnly = await trainClassifierFromCorpus({ ...options, out: join(data, 'p.safetensors'), bilm: report.files.bilm, sentenceMixes: false });
    expect(paragraphOnly.tokenKinds.map((k) => k.name)).toEqual(['paragraph']);
    // an explicit reading overrides the preset's
    const windowed = await trainClassifierFromCorpus({ ...options, out: join(data, 'w.safetensors'), bilm: report.files.bilm, reading: 'window' });
    expect(windowed.tokenReading).toBe('window');
    expect((await TokenClassifier.load(join(data, 'w.safetensors'))).reading).toBe('window');
    // relabel: the probe and its choices see only the labels the hook returns (the SAE route)
    const seen: number[] = [];
    const identity = await trainClassifierFromCorpus({
      ...options, out: join(data, 'same.safetensors'), bilm: report.files.bilm,
      relabel: async ({ tokenTrain, valSets }) => {
        seen.push(tokenTrain.length, ...valSets.map((v) => v.sequences.length));
        return { tokenTrain: [...tokenTrain], valSets: [...valSets] };
      },
    });
    expect(seen).toEqual([2 * 3 * 6, 3 * 3, 12]);
    expect(identity.options.relabel).toBe(true);
    expect(Array.from((await TokenClassifier.load(join(data, 'same.safetensors'))).probe.weights)).toEqual(Array.from(classifier.probe.weights));
    const flip = (s: { tokens: Uint32Array; labels: Uint8Array }) => ({ tokens: s.tokens, labels: s.labels.map((l) => (l === 255 ? l : 1 - l)) });
    const flipped = await trainClassifierFromCorpus({
      ...options, out: join(data, 'flip.safetensors'), bilm: report.files.bilm,
      relabel: async ({ tokenTrain, valSets }) => ({ tokenTrain: tokenTrain.map(flip), valSets: valSets.map((v) => ({ name: v.name, sequences: v.sequences.map(flip) })) }),
    });
    const weights = (await TokenClassifier.load(join(data, 'flip.safetensors'))).probe.weights;
    // the flipped probe points the other way
    expect(weights.reduce((a, w, i) => a + w * classifier.probe.weights[i], 0)).toBeLessThan(0);
    expect(flipped.tokenKinds.map((k) => k.name)).toEqual(['paragraph', 'sentence']);
    await expect(trainClassifierFromCorpus({
      ...options, out: join(data, 'bad.safetensors'), bilm: report.files.bilm,
      relabel: async ({ tokenTrain, valSets }) => ({ tokenTrain: tokenTrain.slice(1), valSets: [...valSets] }),
    })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  }, 120_000);
});
