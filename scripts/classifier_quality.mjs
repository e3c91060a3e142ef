// Classifier quality experiments on ../shared/data (figures in docs/classifier.md). Run after
// `tokenfilter train-classifier --preset default --data ../shared/data --out OUT/clf.safetensors`:
//   node scripts/classifier_quality.mjs unidirectional OUT/clf.bilm.safetensors [LIMIT]
//     biLM vs forward-only probe (same biLM, same spliced probe data, layer 2) on spliced.val
//     (LIMIT documents, default 500), with and without score smoothing
//   node scripts/classifier_quality.mjs weak-to-strong OUT/clf.bilm.safetensors WORKDIR [LIMIT]
//     a probe on a tiny biLM labels training tokens for a probe on the given biLM, compared with
//     the same probe trained on the gold paragraph labels of the same tokens
// Prints one JSON line.
import { join } from 'node:path';
import { BiLM } from '../dist/classify/bilm.js';
import { evaluateTokenClassifier } from '../dist/classify/evaluate.js';
import { labelsFromScores, labelsFromSpans } from '../dist/classify/labels.js';
import { Random } from '../dist/data/random.js';
import { paragraphsOf, spliceDocuments } from '../dist/classify/spliced_documents.js';
import { TokenClassifier } from '../dist/classify/token_classifier.js';
import { CLASSIFIER_PRESETS, trainClassifierFromCorpus } from '../dist/classify/train_from_corpus.js';
import { readDocuments } from '../dist/data/read_documents.js';

const DATA = '../shared/data';
const SPLICED = `${DATA}/spliced/spliced.val.jsonl.gz`;
const log = (line) => process.stderr.write(`${line}\n`);

/** n spliced documents per domain from paragraphs of the split's documents, labelled per paragraph (medical = 1). */
async function spliced(tokenizer, split, n, random) {
  const pools = {};
  for (const domain of ['medical', 'biology', 'general']) {
    const paragraphs = [];
    for await (const d of readDocuments(`${DATA}/corpus/${domain}.${split}.jsonl.gz`)) paragraphs.push(...paragraphsOf(d.text));
    pools[domain] = random.shuffle(paragraphs);
  }
  return spliceDocuments(pools, { count: 3 * n, weights: { medical: 1, biology: 1, general: 1 }, random })
    .map((d) => labelsFromSpans(tokenizer, d.text, d.spans, 'medical'));
}

async function evaluate(classifier, limit) {
  const e = await evaluateTokenClassifier(classifier, SPLICED, 'medical', { limit });
  const plain = new TokenClassifier(classifier.bilm, classifier.bilmPath, classifier.layer, classifier.probe, classifier.threshold, null, classifier.direction, 0);
  const raw = await evaluateTokenClassifier(plain, SPLICED, 'medical', { limit });
  return {
    params_per_direction: classifier.bilm.forward.parameterCount().total, smoothing: classifier.smoothing, at_threshold_f1: e.atThreshold.f1,
    max_f1: e.maxF1.f1, precision: e.maxF1.precision, recall: e.maxF1.recall, raw_max_f1: raw.maxF1.f1,
  };
}

const [experiment, bilmPath, ...rest] = process.argv.slice(2);
const work = experiment === 'weak-to-strong' ? rest.shift() ?? '/tmp/tokenfilter-w2s' : null;
const limit = Number(rest[0] ?? 500);
const bilm = await BiLM.load(bilmPath);
const random = new Random(5);
const result = { experiment };
if (experiment === 'unidirectional') {
  const train = await spliced(bilm.tokenizer, 'train', 150, random);
  const val = await spliced(bilm.tokenizer, 'train', 60, random);
  for (const direction of ['both', 'forward']) {
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [2], maxTrainTokens: 100000, direction });
    result[direction] = { val_max_f1: sweep[0].maxF1.f1, val_raw_max_f1: sweep[0].maxF1Unsmoothed.f1, ...(await evaluate(classifier, limit)) };
    log(`${direction}: ${JSON.stringify(result[direction])}`);
  }
} else if (experiment === 'weak-to-strong') {
  const weakPath = join(work, 'weak.safetensors');
  await trainClassifierFromCorpus({
    ...CLASSIFIER_PRESETS.default, reading: 'window', data: DATA, out: weakPath, dModel: 32, layers: 1, heads: 1, steps: 400, sweepLayers: [2], documentClassifier: false, onLog: log,
  });
  const weak = await TokenClassifier.load(weakPath);
  if (weak.bilm.tokenizer.hash !== bilm.tokenizer.hash) throw new Error('the weak and strong biLMs use different tokenizers (train both from the same preset and seed)');
  const train = await spliced(bilm.tokenizer, 'train', 150, random);
  const weakLabels = labelsFromScores(train, await weak.scoreDocuments(train.map((s) => s.tokens)), weak.threshold);
  const val = await spliced(bilm.tokenizer, 'train', 60, random);
  // the student sees only the teacher's labels, for its validation (smoothing, threshold) too
  const weakVal = labelsFromScores(val, await weak.scoreDocuments(val.map((s) => s.tokens)), weak.threshold);
  const { classifier } = await TokenClassifier.train({ bilm, bilmPath, train: weakLabels, val: weakVal, layers: [2], maxTrainTokens: 100000 });
  const { classifier: gold } = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [2], maxTrainTokens: 100000 });
  result.weak = await evaluate(weak, limit);
  result.strong_from_weak = await evaluate(classifier, limit);
  result.strong_from_gold = await evaluate(gold, limit);
} else throw new Error('usage: classifier_quality.mjs unidirectional BILM [LIMIT] | weak-to-strong BILM [WORKDIR] [LIMIT]');
console.log(JSON.stringify(result));
