import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocumentClassifier } from '../../../lib/classify/document_classifier.js';
import { broadcastLabel, labelsFromScores, labelsFromSideFile, labelsFromSpans, UNLABELLED } from '../../../lib/classify/labels.js';
import { binaryMetrics, precisionRecallCurve } from '../../../lib/classify/metrics.js';
import { applyScoreMethod } from '../../../lib/classify/score_method.js';
import { scoreShards } from '../../../lib/classify/score_shards.js';
import { boundariesOf, boundaryIds } from '../../../lib/classify/segmentation.js';
import { breaksOf, lineBreakIds, smoothScores } from '../../../lib/classify/smoothing.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { writeShard } from '../../../lib/data/shard.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../../lib/model/safetensors.js';
import { SideFileKind, readSideFile, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { thresholdForFraction } from '../../../lib/filter/threshold.js';
import { GENERAL, MEDICAL, savedTinyBiLM, tinyBiLM, tinyTokenizer } from './fixtures.js';

async function trainedClassifier(dir: string) {
  const bilm = await tinyBiLM();
  const tokenizer = bilm.tokenizer;
  const bilmPath = join(dir, 'bilm.safetensors');
  await bilm.save(bilmPath);
  const docs = (k: number) => [
    broadcastLabel(tokenizer.encode(MEDICAL.repeat(1 + (k % 2))), 1),
    broadcastLabel(tokenizer.encode(GENERAL.repeat(1 + (k % 3))), 0),
  ];
  const train = [0, 1, 2].flatMap(docs);
  const val = [3, 4].flatMap(docs);
  return TokenClassifier.train({ bilm, bilmPath, train, val, layers: [0, 2] });
}

describe('TokenClassifier', () => {
  it('separates two domains, sweeps layers, and round-trips through save/load to identical scores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-clf-'));
    const { classifier, sweep } = await trainedClassifier(dir);
    expect(sweep.map((s) => s.layer)).toEqual([0, 2]);
    // an untrained biLM: words shared by both texts ('the', '.') cap the token F1 well below 1
    expect(Math.max(...sweep.map((s) => s.maxF1.f1))).toBeGreaterThan(0.75);
    const path = join(dir, 'clf.safetensors');
    await classifier.save(path);
    const loaded = await TokenClassifier.load(path);
    expect(loaded.layer).toBe(classifier.layer);
    const text = classifier.bilm.tokenizer.encode(MEDICAL + GENERAL + MEDICAL);
    expect((await loaded.scoreDocuments([text]))[0]).toEqual((await classifier.scoreDocuments([text]))[0]);
  });

  it('keeps the smoothing radius that wins on validation, applies it when scoring, and saves it', async () => {
    const { dir, bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-clf-');
    // mixed documents: lines of medical and general text, labelled per line
    const mixed = (k: number) => {
      const parts = [MEDICAL, GENERAL, MEDICAL, GENERAL].map((t, i) => ({ tokens: tokenizer.encode(t.repeat(1 + ((k + i) % 2)) + '\n'), label: (i % 2 === 0 ? 1 : 0) as 0 | 1 }));
      const tokens = Uint32Array.from(parts.flatMap((p) => [...p.tokens]));
      const labels = Uint8Array.from(parts.flatMap((p) => Array(p.tokens.length).fill(p.label)));
      return { tokens, labels };
    };
    const train = [0, 1, 2].map(mixed);
    const val = [3, 4].map(mixed);
    const raw = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [0], smoothing: [0] });
    expect(raw.classifier.smoothing).toBe(0);
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [0], smoothing: [0, 3, 6] });
    expect([0, 3, 6]).toContain(sweep[0].smoothing);
    expect(classifier.smoothing).toBe(sweep[0].smoothing);
    expect(sweep[0].maxF1.f1).toBeGreaterThanOrEqual(sweep[0].maxF1Unsmoothed.f1);
    expect(sweep[0].maxF1Unsmoothed.f1).toBeCloseTo(raw.sweep[0].maxF1.f1, 10);
    // scores are the raw probe's, smoothed within each line of each document
    const doc = val[0].tokens;
    const features = await bilm.features(doc, classifier.layer);
    const breaks = breaksOf(doc, lineBreakIds(tokenizer));
    expect(breaks.reduce((a, b) => a + b, 0)).toBe(4);
    const expected = smoothScores(classifier.probe.predict(features), classifier.smoothing, breaks);
    expect((await classifier.scoreDocuments([doc]))[0]).toEqual(expected);
    const path = join(dir, 'smooth.safetensors');
    await classifier.save(path);
    const loaded = await TokenClassifier.load(path);
    expect(loaded.smoothing).toBe(classifier.smoothing);
    expect((await loaded.scoreDocuments([doc]))[0]).toEqual(expected);
    await expect(TokenClassifier.train({ bilm, bilmPath, train, val, layers: [0], smoothing: [] })).rejects.toThrow(/at least one radius/);
    await expect(TokenClassifier.train({ bilm, bilmPath, train, val, layers: [0], smoothing: [-2] })).rejects.toThrow(/non-negative integers/);
  });

  it('chooses among smoothing and segmentation on two validation kinds, saves the method, and scores shards with it on record', async () => {
    const { dir, bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-clf-');
    // paragraph kind: whole lines of one domain; sentence kind: one medical sentence inside general text
    const paragraph = (k: number) => labelsFromSpans(tokenizer, `${MEDICAL.repeat(1 + (k % 2))}\n${GENERAL.repeat(2)}`, [[0, MEDICAL.length * (1 + (k % 2)), 'medical']], 'medical');
    const sentence = (k: number) => {
      const text = GENERAL.repeat(1 + (k % 2)) + MEDICAL + GENERAL;
      const start = GENERAL.length * (1 + (k % 2));
      return labelsFromSpans(tokenizer, text, [[start, start + MEDICAL.length - 1, 'medical']], 'medical');
    };
    const train = [0, 1, 2].flatMap((k) => [paragraph(k), sentence(k)]);
    const valSets = [{ name: 'paragraph', sequences: [3, 4].map(paragraph) }, { name: 'sentence', sequences: [3, 4].map(sentence) }];
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [1, 2], smoothing: [0, 4], segmentation: true });
    expect(sweep.map((r) => r.kinds.map((k) => k.name))).toEqual([['paragraph', 'sentence'], ['paragraph', 'sentence']]);
    for (const r of sweep) expect(r.blendF1).toBeCloseTo((r.kinds[0].f1 + r.kinds[1].f1) / 2, 12);
    const chosen = (classifier.report as { chosen: { blendF1: number; layer: number; methodName: string } }).chosen;
    expect(chosen.blendF1).toBe(Math.max(...sweep.map((r) => r.blendF1)));
    expect(chosen.methodName).toBe(sweep.find((r) => r.layer === classifier.layer)!.methodName);
    // scores are the raw probe's turned by the chosen method; the file keeps the method
    const doc = valSets[1].sequences[0].tokens;
    const expected = applyScoreMethod(classifier.probe.predict(await bilm.features(doc, classifier.layer)), classifier.method, boundariesOf(doc, boundaryIds(tokenizer)));
    expect((await classifier.scoreDocuments([doc]))[0]).toEqual(expected);
    const path = join(dir, 'blend.safetensors');
    await classifier.save(path);
    const loaded = await TokenClassifier.load(path);
    expect(loaded.method).toEqual(classifier.method);
    expect((await loaded.scoreDocuments([doc]))[0]).toEqual(expected);
    // an override scores by another method; a segmented classifier survives a round trip
    const segment = { kind: 'segment', switchCost: 4, sentenceCost: 1, lineCost: 0, bias: 0.5 } as const;
    await classifier.withMethod(segment).save(path);
    const segmented = await TokenClassifier.load(path);
    expect(segmented.method).toEqual(segment);
    expect(segmented.smoothing).toBe(0);
    // the score record says which method made the scores
    const shard = join(dir, 'a.bin');
    await writeShard(shard, Uint32Array.from([tokenizer.eotId, ...doc]), { tokenizer });
    const result = await scoreShards({ shards: [shard], classifier: path, out: join(dir, 'scores') });
    expect(result.processed[0].scoring).toEqual({ method: segment, name: 'segment c=4 s=1 l=0 b=0.5', reading: 'window', lexicon: null });
    expect(JSON.parse(readFileSync(join(dir, 'scores', 'a.score.json'), 'utf8')).scoring.method).toEqual(segment);
  });

  it('reads a set of layers concatenated, chooses it on the blend like a single layer, and round-trips it (older files load as one layer)', async () => {
    const { dir, bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-clf-');
    const paragraph = (k: number) => labelsFromSpans(tokenizer, `${MEDICAL.repeat(1 + (k % 2))}\n${GENERAL.repeat(2)}`, [[0, MEDICAL.length * (1 + (k % 2)), 'medical']], 'medical');
    const sentence = (k: number) => {
      const start = GENERAL.length * (1 + (k % 2));
      return labelsFromSpans(tokenizer, GENERAL.repeat(1 + (k % 2)) + MEDICAL + GENERAL, [[start, start + MEDICAL.length - 1, 'medical']], 'medical');
    };
    const train = [0, 1, 2].flatMap((k) => [paragraph(k), sentence(k)]);
    const valSets = [{ name: 'paragraph', sequences: [3, 4].map(paragraph) }, { name: 'sentence', sequences: [3, 4].map(sentence) }];
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [[2, 0]], smoothing: [0, 4], segmentation: true });
    expect(sweep[0].layers).toEqual([0, 2]);
    expect(sweep[0].layer).toBe(2);
    expect(classifier.layers).toEqual([0, 2]);
    expect(classifier.probe.dimension).toBe(2 * bilm.dimensionOf('both'));
    // scores: the probe on [features at 0 | features at 2], turned by the chosen method
    const doc = valSets[1].sequences[0].tokens;
    const f0 = await bilm.features(doc, 0);
    const f2 = await bilm.features(doc, 2);
    const D = bilm.dimensionOf('both');
    const joined = new Float32Array(doc.length * 2 * D);
    for (let t = 0; t < doc.length; t++) {
      joined.set(f0.subarray(t * D, (t + 1) * D), 2 * t * D);
      joined.set(f2.subarray(t * D, (t + 1) * D), (2 * t + 1) * D);
    }
    const expected = applyScoreMethod(classifier.probe.predict(joined), classifier.method, boundariesOf(doc, boundaryIds(tokenizer)));
    expect((await classifier.scoreDocuments([doc]))[0]).toEqual(expected);
    // chosen on the blend: the saved classifier's own scores reproduce the chosen F1 of each kind
    const chosen = (classifier.report as { chosen: { layers: number[]; kinds: { f1: number }[] } }).chosen;
    expect(chosen.layers).toEqual([0, 2]);
    for (const [i, set] of valSets.entries()) {
      const scores = await classifier.scoreDocuments(set.sequences.map((q) => q.tokens));
      const flat = Float32Array.from(scores.flatMap((x) => [...x]));
      const labels = Uint8Array.from(set.sequences.flatMap((q) => [...q.labels]));
      expect(binaryMetrics(flat, labels, classifier.threshold).f1).toBeCloseTo(chosen.kinds[i].f1, 12);
    }
    // the file records the set; it loads and scores the same
    const path = join(dir, 'layers.safetensors');
    await classifier.save(path);
    const { metadata, tensors } = await readSafetensors(path);
    expect(metadata.layers).toBe('[0,2]');
    expect(metadata.layer).toBe('2');
    const loaded = await TokenClassifier.load(path);
    expect(loaded.layers).toEqual([0, 2]);
    expect((await loaded.scoreDocuments([doc]))[0]).toEqual(expected);
    // bad layer metadata is refused
    const rewrite = (meta: Record<string, string>) => writeSafetensors(path, [...tensors.entries()].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, data: t.data }] as [string, TensorToWrite]), meta);
    const { layers: _, ...older } = metadata;
    for (const [layers, message] of [['[2,0]', /ascending/], ['[0,1]', /does not end at layer 2/], ['[0,9]', /ascending/], ['zero', /not JSON/]] as const) {
      await rewrite({ ...metadata, layers });
      await expect(TokenClassifier.load(path)).rejects.toThrow(message);
    }
    // a file without 'layers' (as written before it existed) reads its one layer; this probe is too wide for it
    await rewrite(older);
    await expect(TokenClassifier.load(path)).rejects.toThrow(/probe has 64 features, its biLM gives 32/);
    const single = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [2], smoothing: [0] });
    await single.classifier.save(path);
    const old = await readSafetensors(path);
    const { layers: __, ...oldMeta } = old.metadata;
    await writeSafetensors(path, [...old.tensors.entries()].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, data: t.data }] as [string, TensorToWrite]), oldMeta);
    const reloaded = await TokenClassifier.load(path);
    expect(reloaded.layers).toEqual([2]);
    expect((await reloaded.scoreDocuments([doc]))[0]).toEqual((await single.classifier.scoreDocuments([doc]))[0]);
  });

  it('refuses a classifier whose biLM changed, or a file of another kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-clf-'));
    const { classifier } = await trainedClassifier(dir);
    const path = join(dir, 'clf.safetensors');
    await classifier.save(path);
    await expect(DocumentClassifier.load(path)).rejects.toThrow(/holds a token classifier, expected a document classifier/);
    const other = await tinyBiLM(99);
    await other.save(join(dir, 'bilm.safetensors'));
    await expect(TokenClassifier.load(path)).rejects.toThrow(/not the one this classifier was trained on/);
    rmSync(join(dir, 'bilm.safetensors'));
    await expect(TokenClassifier.load(path)).rejects.toThrow(/cannot be read/);
  });
});

describe('DocumentClassifier', () => {
  it('classifies pooled documents and round-trips', async () => {
    const { dir, bilm, bilmPath } = await savedTinyBiLM('tf-doc-');
    const doc = (text: string, label: 0 | 1) => ({ tokens: bilm.tokenizer.encode(text), label });
    const words = (s: string, a: number, b: number) => s.split(' ').slice(a, b).join(' ');
    const train = [0, 2, 4, 6].flatMap((a) => [doc(words(MEDICAL, a, a + 8), 1), doc(words(GENERAL, a, a + 8), 0)]);
    const val = [1, 3].flatMap((a) => [doc(words(MEDICAL, a, a + 9), 1), doc(words(GENERAL, a, a + 9), 0)]);
    const { classifier, sweep } = await DocumentClassifier.train({ bilm, bilmPath, train, val, layers: [1] });
    expect(sweep[0].maxF1.f1).toBe(1);
    const path = join(dir, 'doc.safetensors');
    await classifier.save(path);
    const loaded = await DocumentClassifier.load(path);
    expect(await loaded.scoreDocuments(val.map((d) => d.tokens))).toEqual(await classifier.scoreDocuments(val.map((d) => d.tokens)));
  });
});

describe('labels from anywhere', () => {
  it('labels tokens from spans, side files and thresholded scores', async () => {
    const tokenizer = await tinyTokenizer();
    const text = MEDICAL + GENERAL;
    const fromSpans = labelsFromSpans(tokenizer, text, [[0, MEDICAL.length, 'medical']], 'medical');
    const firstGeneral = fromSpans.labels.indexOf(0);
    expect(firstGeneral).toBeGreaterThan(5);
    expect(fromSpans.labels.subarray(firstGeneral).every((v) => v === 0)).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'tf-labels-'));
    const shard = join(dir, 'x.bin');
    const tokens = Uint32Array.from([...fromSpans.tokens, tokenizer.eotId, ...fromSpans.tokens]);
    await writeShard(shard, tokens, { tokenizer });
    const side = Uint8Array.from([...fromSpans.labels.map((v) => v * 2), 0, ...fromSpans.labels.map(() => UNLABELLED)]);
    await writeSideFile(sideFilePathFor(shard, SideFileKind.Labels), side, { kind: SideFileKind.Labels, tokenizer });
    const docs = labelsFromSideFile(shard, { positive: [2] });
    expect(docs).toHaveLength(2);
    expect(docs[0].labels).toEqual(fromSpans.labels);
    expect(docs[1].labels.every((v) => v === UNLABELLED)).toBe(true);
    const foreign = join(dir, 'foreign.labels.side');
    await writeSideFile(foreign, side, { kind: SideFileKind.Labels, tokenizer: { vocabSize: tokenizer.vocabSize, eotId: tokenizer.eotId, hiddenId: tokenizer.hiddenId, hash: 'e5'.repeat(32) } });
    expect(() => labelsFromSideFile(shard, { labelsPath: foreign })).toThrow(expect.objectContaining({ code: 'E_TOKENIZER_MISMATCH' }));

    const relabelled = labelsFromScores([docs[0]], [Float32Array.from(docs[0].labels, (v, i) => (i % 2 ? 0.9 : 0.1))], 0.5);
    expect(Array.from(relabelled[0].labels.subarray(0, 4))).toEqual([0, 1, 0, 1]);
  });
});

describe('metrics', () => {
  it('has a PR curve whose points match binaryMetrics, and a max-F1 no other threshold beats', () => {
    let s = 5;
    const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const labels = Uint8Array.from({ length: 400 }, () => (r() < 0.3 ? 1 : r() < 0.05 ? UNLABELLED : 0));
    const scores = Float32Array.from(labels, (y) => Math.round((0.5 * r() + (y === 1 ? 0.4 : 0)) * 50) / 50);
    const { points, maxF1 } = precisionRecallCurve(scores, labels);
    for (const p of points) {
      const m = binaryMetrics(scores, labels, p.threshold);
      expect(m.precision).toBeCloseTo(p.precision, 12);
      expect(m.recall).toBeCloseTo(p.recall, 12);
      expect(m.f1).toBeLessThanOrEqual(maxF1.f1 + 1e-12);
    }
  });

  it('flags the requested fraction with thresholdForFraction on classifier scores', () => {
    const scores = Float32Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 1000);
    for (const fraction of [0.01, 0.1, 0.37]) {
      const t = thresholdForFraction(scores, fraction);
      const flagged = scores.filter((v) => v >= t).length;
      expect(flagged).toBe(Math.round(fraction * 1000));
    }
  });
});

describe('scoreShards', () => {
  it('scores identically twice, skips finished shards, redoes an interrupted one, and counts windowed documents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-score-'));
    const { classifier } = await trainedClassifier(dir);
    const clf = join(dir, 'clf.safetensors');
    await classifier.save(clf);
    const tokenizer = classifier.bilm.tokenizer;
    const shards = [join(dir, 'a.bin'), join(dir, 'b.bin')];
    const long = tokenizer.encode(MEDICAL.repeat(3));
    await writeShard(shards[0], Uint32Array.from([tokenizer.eotId, ...long, tokenizer.eotId, ...tokenizer.encode(GENERAL)]), { tokenizer });
    await writeShard(shards[1], Uint32Array.from([tokenizer.eotId, ...tokenizer.encode('the king')]), { tokenizer });
    const out = join(dir, 'scores');
    const first = await scoreShards({ shards, classifier: clf, out });
    expect(first.processed).toHaveLength(2);
    const context = classifier.bilm.forward.config.context;
    expect(first.windowedDocuments).toBe([long, tokenizer.encode(GENERAL), tokenizer.encode('the king')].filter((d) => d.length > context).length);
    expect(long.length).toBeGreaterThan(2 * context);
    expect(first.cutTokens).toBe(0);
    const scoreFile = sideFilePathFor(join(out, 'a.bin'), SideFileKind.ScoresUint8);
    const bytes = readFileSync(scoreFile);
    const scores = readSideFile(scoreFile, { expectKind: SideFileKind.ScoresUint8 }).values;
    expect(scores[0]).toBe(0);
    expect(scores[1 + long.length]).toBe(0);
    const medicalMean = scores.subarray(1, 1 + long.length).reduce((a, b) => a + b, 0) / long.length;
    const generalMean = scores.subarray(2 + long.length).reduce((a, b) => a + b, 0) / (scores.length - 2 - long.length);
    expect(medicalMean).toBeGreaterThan(generalMean);

    const again = await scoreShards({ shards, classifier: clf, out });
    expect(again.processed).toHaveLength(0);
    expect(again.skipped).toEqual(shards);

    // an interrupted run leaves no record for the shard it was on: only that shard is redone
    rmSync(join(out, 'a.score.json'));
    writeFileSync(scoreFile, 'partial');
    const resumed = await scoreShards({ shards, classifier: clf, out });
    expect(resumed.processed.map((r) => r.input)).toEqual([shards[0]]);
    expect(readFileSync(scoreFile)).toEqual(bytes);

    // a score file replaced behind its record (same size, other bytes) does not verify: redone
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] ^= 0xff;
    writeFileSync(scoreFile, tampered);
    const verified = await scoreShards({ shards, classifier: clf, out });
    expect(verified.processed.map((r) => r.input)).toEqual([shards[0]]);
    expect(readFileSync(scoreFile)).toEqual(bytes);

    // a second output folder scored from scratch is byte-identical
    const out2 = join(dir, 'scores2');
    await scoreShards({ shards, classifier: clf, out: out2, task: { index: 0, count: 2 } });
    expect(readFileSync(sideFilePathFor(join(out2, 'a.bin'), SideFileKind.ScoresUint8))).toEqual(bytes);
    await expect(scoreShards({ shards, classifier: clf, out, task: { index: 2, count: 2 } })).rejects.toThrow(/0 <= index < count/);
    copyFileSync(shards[0], join(dir, 'copy.bin'));
    await expect(scoreShards({ shards: [join(dir, 'missing.bin')], classifier: clf, out })).rejects.toThrow(/missing\.bin/);
  });
});
