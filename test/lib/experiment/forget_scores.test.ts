import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromSpans } from '../../../lib/classify/labels.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { experimentTables } from '../../../lib/experiment/experiment_tables.js';
import { runFilteringExperiment } from '../../../lib/experiment/filtering_experiment.js';
import { validationF1 } from '../../../lib/experiment/forget_scores.js';
import { parseModelSize } from '../../../lib/experiment/model_size.js';
import { GENERAL, MEDICAL, tinyBiLM } from '../classify/fixtures.js';
import { writeCorpus } from './corpus_fixture.js';

/** A token classifier on the tiny biLM, chosen on paragraph and sentence validation kinds. */
async function twoKindClassifier(dir: string): Promise<TokenClassifier> {
  const bilm = await tinyBiLM();
  const bilmPath = join(dir, 'clf.bilm.safetensors');
  await bilm.save(bilmPath);
  const tok = bilm.tokenizer;
  const paragraph = (k: number) => labelsFromSpans(tok, `${MEDICAL.repeat(1 + (k % 2))}\n${GENERAL.repeat(2)}`, [[0, MEDICAL.length * (1 + (k % 2)), 'medical']], 'medical');
  const sentence = (k: number) => {
    const start = GENERAL.length * (1 + (k % 2));
    return labelsFromSpans(tok, GENERAL.repeat(1 + (k % 2)) + MEDICAL + GENERAL, [[start, start + MEDICAL.length - 1, 'medical']], 'medical');
  };
  const valSets = [{ name: 'paragraph', sequences: [3, 4].map(paragraph) }, { name: 'sentence', sequences: [3, 4].map(sentence) }];
  const { classifier } = await TokenClassifier.train({ bilm, bilmPath, train: [0, 1, 2].flatMap((k) => [paragraph(k), sentence(k)]), valSets, layers: [1] });
  return classifier;
}

describe('validationF1', () => {
  it("reads each validation kind's metrics from a classifier report, and nothing from a report without them", () => {
    const report = { chosen: { kinds: [{ name: 'paragraph', precision: 0.5, recall: 1, f1: 2 / 3, threshold: 0.4 }, { name: 'broken', f1: 'high' }] } };
    expect(validationF1(report)).toEqual([{ name: 'paragraph', precision: 0.5, recall: 1, f1: 2 / 3 }]);
    expect(validationF1(null)).toEqual([]);
    expect(validationF1({ sweep: [] })).toEqual([]);
  });
});

describe('the experiment with a token classifier', () => {
  const root = mkdtempSync(join(tmpdir(), 'tf-experiment-clf-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeCorpus(root);

  it("records the classifier's F1 on both validation kinds and prints it above the tables", async () => {
    const classifier = await twoKindClassifier(root);
    const path = join(root, 'clf.safetensors');
    await classifier.save(path);
    const results = await runFilteringExperiment({
      data: root, out: join(root, 'exp'), classifier: path, documentScores: 'mean', sizes: [parseModelSize('1x16')], modes: ['mask'],
      tokensPerParameter: 2, context: 32, batch: 4, sweepSize: -1, valTokensPerDomain: 2000, valMixedTokens: 3000, mcqPerDomain: 0, attack: false,
    });
    const kinds = (classifier.report as { chosen: { kinds: { name: string; f1: number; precision: number; recall: number }[] } }).chosen.kinds;
    expect(results.classifier!.validation!.map((k) => k.name)).toEqual(['paragraph', 'sentence']);
    expect(results.classifier!.validation!.map((k) => k.f1)).toEqual(kinds.map((k) => k.f1));
    const table = experimentTables(results);
    const f1 = (k: { f1: number; precision: number; recall: number }) => `${k.f1.toFixed(3)} (P ${k.precision.toFixed(3)}, R ${k.recall.toFixed(3)})`;
    expect(table).toContain(`Scores: token classifier ${path} (layer 1, threshold ${classifier.threshold.toFixed(3)}); validation F1 at its threshold: paragraph ${f1(kinds[0])}, sentence ${f1(kinds[1])}`);
    expect(table.indexOf('Scores:')).toBeLessThan(table.indexOf('Ladder'));
    // results from before the F1 was recorded say so instead of printing nothing
    expect(experimentTables({ ...results, classifier: { path, threshold: 0.5, layer: 1 } })).toMatch(/validation F1 not in these results/);
  }, 120_000);
});
