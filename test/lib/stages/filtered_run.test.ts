// The filter → train → evaluate → save loop on a tiny stream: the baseline trains on the stream's
// own shard, a filtered run on the filtered shard and loss mask it writes (kept or removed), the
// step count sees the flagged fraction, and the train stage saves the model and drops its checkpoint.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchSampler } from '../../../lib/data/sampler.js';
import { readSideFile, SideFileKind, sideFilePathFor } from '../../../lib/data/side_file.js';
import type { EvaluateStageOptions } from '../../../lib/stages/evaluate.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { runFilteredModel, type FilteredRunJob, type ScoredStream } from '../../../lib/stages/filtered_run.js';
import { corpusTokenizer, joinDocuments, writeLabelledShard } from '../../../lib/stages/tokenize.js';

const root = mkdtempSync(join(tmpdir(), 'tf-stage-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('runFilteredModel', () => {
  it('trains a baseline and a masked run, evaluates and saves each', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? 'the patient had a fever and a dose of the drug' : 'the river runs by the old city and the market'));
    const tokenizer = await corpusTokenizer({ path: join(root, 'tokenizer.json'), texts, vocabSize: 300 });
    const labelled = joinDocuments(texts.map((t, i) => ({ ids: tokenizer.encode(t), labels: i % 2 })), { eotId: tokenizer.eotId, separator: 'after', separatorLabel: 255 });
    const shard = join(root, 'train.bin');
    await writeLabelledShard(shard, labelled, tokenizer);
    const stream: ScoredStream = {
      ...labelled, shard, labelNames: ['general', 'medical'], forgetLabel: 1, scores: Float32Array.from(labelled.labels, (l) => (l === 1 ? 1 : 0)),
    };
    const seen: number[] = [];
    const job = (mode: FilteredRunJob['mode'], keepFiltered: boolean): FilteredRunJob => ({
      mode, rule: { threshold: 0.5 }, stream, tokenizer, filteredShard: join(root, 'filtered', mode, 'train.bin'), keepFiltered,
      steps: (flagged) => (seen.push(flagged), 3),
      train: {
        name: mode, model: { layers: 1, dModel: 16, heads: 1 }, context: 16, batch: 2, seed: 3,
        checkpoint: join(root, 'models', `${mode}.checkpoint.safetensors`), checkpointEvery: 2, save: { path: join(root, 'models', `${mode}.safetensors`) },
      },
      evaluate: { heldOut: labelled, labelNames: ['general', 'medical'], bootstrap: 0 },
    });
    const baseline = await runFilteredModel(job('baseline', false));
    expect(baseline.filtered).toBeNull();
    expect(baseline.summary.steps).toBe(3);
    const masked = await runFilteredModel(job('mask', true));
    const medicalShare = labelled.labels.filter((l) => l === 1).length / labelled.labels.length;
    expect(seen[0]).toBe(0);
    expect(seen[1]).toBeCloseTo(medicalShare, 12);
    expect(masked.filtered!.stats.forget!.recall).toBe(1);
    const mask = readSideFile(sideFilePathFor(join(root, 'filtered', 'mask', 'train.bin'), SideFileKind.LossMask)).values as Uint8Array;
    expect([...mask]).toEqual([...masked.filtered!.lossMask]);
    for (const r of [baseline, masked]) for (const d of ['general', 'medical']) expect(r.loss[d]).toBeGreaterThan(0);
    // the masked run learned from fewer targets than the baseline in the same steps
    expect(masked.summary.supervisedTokens).toBeLessThan(baseline.summary.supervisedTokens);
    for (const mode of ['baseline', 'mask']) {
      expect(existsSync(join(root, 'models', `${mode}.checkpoint.safetensors`))).toBe(false);
      const loaded = await Transformer.load(join(root, 'models', `${mode}.safetensors`));
      expect(loaded.config.dModel).toBe(16);
    }
    // a filtered run whose shard is not kept removes its folder once trained
    await runFilteredModel(job('remove', false));
    expect(existsSync(join(root, 'filtered', 'remove'))).toBe(false);
    // a stream that opens its own batches (here the same sampler) trains the same model, and a
    // second evaluation's rows are merged into the first's
    let opened = 0;
    const custom = job('mask', true);
    custom.train = { ...custom.train, save: { path: join(root, 'models', 'mask-open.safetensors') }, checkpoint: undefined };
    custom.trainStream = (shard) => ({
      open: (settings) => {
        opened++;
        const sampler = new BatchSampler({ shards: [shard], ...settings });
        return { batches: sampler, close: () => sampler.close() };
      },
    });
    custom.evaluate = [custom.evaluate as EvaluateStageOptions, { heldOut: labelled, labelNames: ['other_general', 'other_medical'], bootstrap: 0 }];
    const reopened = await runFilteredModel(custom);
    expect(opened).toBe(1);
    expect(readFileSync(join(root, 'models', 'mask-open.safetensors')).equals(readFileSync(join(root, 'models', 'mask.safetensors')))).toBe(true);
    expect(Object.keys(reopened.loss)).toEqual(['general', 'medical', 'other_general', 'other_medical']);
    expect(reopened.loss.other_medical).toBe(reopened.loss.medical);
    expect(existsSync(join(root, 'filtered', 'mask', 'train.bin'))).toBe(true);
  }, 120_000);
});
