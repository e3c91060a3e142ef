import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { broadcastLabel } from '../../../lib/classify/labels.js';
import { readProbeFile, writeProbeFile } from '../../../lib/classify/probe_file.js';
import { parseReading, planReading, sentenceRanges } from '../../../lib/classify/reading.js';
import { scoreShards } from '../../../lib/classify/score_shards.js';
import { Boundary, boundaryIds } from '../../../lib/classify/segmentation.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { writeShard } from '../../../lib/data/shard.js';
import { readSideFile, sideFileScores } from '../../../lib/data/side_file.js';
import { GENERAL, MEDICAL, savedTinyBiLM, tinyBiLM } from './fixtures.js';

/** A text of several sentences (one longer than the tiny biLM's context of 16) and a line break. */
const TEXT = `${MEDICAL}${GENERAL}the king ate.\n${GENERAL.trim()} ${MEDICAL.trim()}`;

describe('sentence ranges and reading plans', () => {
  it('ends a sentence after every boundary token and partitions the sequence', () => {
    const table = new Uint8Array(10);
    table[3] = Boundary.Sentence;
    table[7] = Boundary.Line;
    expect(sentenceRanges(Uint32Array.from([1, 3, 2, 2, 7, 3, 5]), table)).toEqual([[0, 2], [2, 5], [5, 6], [6, 7]]);
    expect(sentenceRanges(Uint32Array.from([1, 2]), table)).toEqual([[0, 2]]);
    expect(sentenceRanges(new Uint32Array(0), table)).toEqual([]);
  });

  it('keeps every position once, inside its own sentence, and windows a sentence longer than the context', () => {
    const table = new Uint8Array(10);
    table[3] = Boundary.Sentence;
    const tokens = Uint32Array.from([...Array(11).fill(1), 3, 2, 3, 1]);
    const pieces = planReading(tokens, 4, 'sentence', table);
    const ranges = sentenceRanges(tokens, table);
    let next = 0;
    for (const p of pieces) {
      expect(p.keepFrom).toBe(next);
      expect(p.length).toBeLessThanOrEqual(4);
      const [from, to] = ranges.find(([a, b]) => p.keepFrom >= a && p.keepFrom < b)!;
      expect(p.start).toBeGreaterThanOrEqual(from);
      expect(p.start + p.length).toBeLessThanOrEqual(to);
      next = p.keepTo;
    }
    expect(next).toBe(tokens.length);
    expect(pieces.filter((p) => p.start < 12).length).toBeGreaterThan(1); // the 12-token sentence in windows
  });

  it('refuses an unknown reading with E_OPTION naming the option', () => {
    expect(parseReading('sentence')).toBe('sentence');
    expect(() => parseReading('paragraph', '--reading')).toThrow(expect.objectContaining({ code: 'E_OPTION', message: expect.stringContaining('--reading') }));
    expect(() => planReading(Uint32Array.from([1]), 4, 'lines' as never)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});

describe('BiLM features under sentence reading', () => {
  it('equal the features of each sentence read alone, at every layer', async () => {
    const bilm = await tinyBiLM();
    const tokens = bilm.tokenizer.encode(TEXT);
    const ranges = sentenceRanges(tokens, boundaryIds(bilm.tokenizer));
    expect(ranges.length).toBeGreaterThanOrEqual(4);
    expect(ranges.some(([a, b]) => b - a > bilm.forward.config.context)).toBe(true);
    const D = bilm.dimension;
    for (const layer of [0, 1, 3]) {
      const whole = await bilm.features(tokens, layer, { reading: 'sentence' });
      for (const [a, b] of ranges) expect(whole.subarray(a * D, b * D)).toEqual(await bilm.features(tokens.slice(a, b), layer));
      const windowed = await bilm.features(tokens, layer);
      if (layer === 0) expect(whole).toEqual(windowed); // token identity: the same under both readings
      else expect(whole).not.toEqual(windowed);
    }
  });

  it('do not change when another sentence of the document changes', async () => {
    const bilm = await tinyBiLM();
    const tokens = bilm.tokenizer.encode(TEXT);
    const [first, second] = sentenceRanges(tokens, boundaryIds(bilm.tokenizer));
    const perturbed = tokens.slice();
    const at = first[1] - 2; // close to the boundary, so a window reaches across it
    perturbed[at] = perturbed[at] === 5 ? 6 : 5; // neither id ends a sentence in the tiny tokenizer's vocabulary
    expect(boundaryIds(bilm.tokenizer)[perturbed[at]]).toBe(Boundary.None);
    const D = bilm.dimension;
    const before = await bilm.features(tokens, 3, { reading: 'sentence' });
    const after = await bilm.features(perturbed, 3, { reading: 'sentence' });
    expect(after.subarray(second[0] * D)).toEqual(before.subarray(second[0] * D));
    expect(after.subarray(first[0] * D, first[1] * D)).not.toEqual(before.subarray(first[0] * D, first[1] * D));
    // window reading carries the change across the sentence boundary
    const windowBefore = await bilm.features(tokens, 3);
    const windowAfter = await bilm.features(perturbed, 3);
    expect(windowAfter.subarray(second[0] * D, (second[0] + 1) * D)).not.toEqual(windowBefore.subarray(second[0] * D, (second[0] + 1) * D));
  });

  it('rejects an unknown reading with E_OPTION', async () => {
    const bilm = await tinyBiLM();
    await expect(bilm.features(Uint32Array.from([1, 2]), 1, { reading: 'paragraph' as never })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});

describe('token classifiers under sentence reading', () => {
  it('train, score, save and load with the reading; older files read windows; overrides and score records carry it', async () => {
    const { dir, bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-reading-');
    const docs = (k: number) => [broadcastLabel(tokenizer.encode(MEDICAL.repeat(1 + (k % 2))), 1), broadcastLabel(tokenizer.encode(GENERAL.repeat(1 + (k % 3))), 0)];
    const { classifier } = await TokenClassifier.train({
      bilm, bilmPath, train: [0, 1, 2].flatMap(docs), val: [3, 4].flatMap(docs), layers: [2], smoothing: [0], reading: 'sentence',
    });
    expect(classifier.reading).toBe('sentence');
    const doc = tokenizer.encode(TEXT);
    const expected = classifier.probe.predict(await bilm.features(doc, 2, { reading: 'sentence' }));
    expect((await classifier.rawScores([doc]))[0]).toEqual(expected);
    const path = join(dir, 'clf.safetensors');
    await classifier.save(path);
    const loaded = await TokenClassifier.load(path);
    expect(loaded.reading).toBe('sentence');
    expect((await loaded.rawScores([doc]))[0]).toEqual(expected);
    const windowed = loaded.withReading('window');
    expect(windowed.reading).toBe('window');
    expect((await windowed.rawScores([doc]))[0]).toEqual(classifier.probe.predict(await bilm.features(doc, 2)));
    // a file without the reading metadata (written before it existed) reads windows
    const old = join(dir, 'old.safetensors');
    const { file } = await readProbeFile(path, 'token');
    await writeProbeFile(old, { ...file, reading: undefined });
    expect((await TokenClassifier.load(old)).reading).toBe('window');
    // the scoring stage reads as the classifier does and records it
    // (a second document longer than the context, made of short sentences)
    const short = tokenizer.encode('the king ate. '.repeat(8));
    expect(short.length).toBeGreaterThan(bilm.forward.config.context);
    const shard = join(dir, 'a.bin');
    await writeShard(shard, Uint32Array.from([tokenizer.eotId, ...doc, tokenizer.eotId, ...short]), { tokenizer });
    const result = await scoreShards({ shards: [shard], classifier: path, out: join(dir, 'scores') });
    expect(result.processed[0].scoring.reading).toBe('sentence');
    expect(JSON.parse(readFileSync(join(dir, 'scores', 'a.score.json'), 'utf8')).scoring.reading).toBe('sentence');
    // the scores are the saved reading's, and only a document with a sentence longer than the context counts as windowed
    const stored = sideFileScores(readSideFile(join(dir, 'scores', 'a.scores8.side')));
    const expectedScores = (await loaded.scoreDocuments([doc]))[0];
    for (let t = 0; t < doc.length; t++) expect(Math.abs(stored[1 + t] - expectedScores[t])).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    expect(result.windowedDocuments).toBe(1);
    const windowPath = join(dir, 'window.safetensors');
    await windowed.save(windowPath);
    const byWindows = await scoreShards({ shards: [shard], classifier: windowPath, out: join(dir, 'scores-window') });
    expect(byWindows.processed[0].scoring.reading).toBe('window');
    expect(byWindows.windowedDocuments).toBe(2);
  });

  it('refuses an unknown reading before training', async () => {
    const bilm = await tinyBiLM();
    const seq = broadcastLabel(bilm.tokenizer.encode(MEDICAL), 1);
    await expect(TokenClassifier.train({ bilm, bilmPath: 'x', train: [seq], val: [seq], reading: 'page' as never })).rejects.toThrow(
      expect.objectContaining({ code: 'E_OPTION', message: expect.stringContaining('reading') }),
    );
  });
});
