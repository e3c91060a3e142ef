// Classifier quality experiments on ../shared/data (figures in docs/classifier.md). Run after
// `tokenfilter train-classifier --preset default --data ../shared/data --out OUT/clf.safetensors`:
//   node scripts/classifier_quality.mjs unidirectional OUT/clf.bilm.safetensors
//     biLM vs forward-only probe (same biLM, same probe data, layer 3) on spliced.val (200 docs)
//   node scripts/classifier_quality.mjs weak-to-strong OUT/clf.bilm.safetensors WORKDIR
//     a probe on a tiny biLM labels training tokens for a probe on the given biLM (100 docs),
//     compared with the same probe trained on the gold document labels of the same tokens
// Prints one JSON line.
import { join } from 'node:path';
import { BiLM } from '../dist/classify/bilm.js';
import { evaluateTokenClassifier } from '../dist/classify/evaluate.js';
import { broadcastLabel, labelsFromScores } from '../dist/classify/labels.js';
import { Random } from '../dist/classify/sampling.js';
import { TokenClassifier } from '../dist/classify/token_classifier.js';
import { CLASSIFIER_PRESETS, trainClassifierFromCorpus } from '../dist/classify/train_from_corpus.js';
import { readDocuments } from '../dist/data/read_documents.js';

const DATA = '../shared/data';
const SPLICED = `${DATA}/spliced/spliced.val.jsonl.gz`;
const log = (line) => process.stderr.write(`${line}\n`);

/** 128-token random windows of n random documents per domain, medical labelled 1 when `gold`. */
async function windows(tokenizer, split, n, gold, random) {
  const out = [];
  for (const domain of ['medical', 'biology', 'general']) {
    const docs = [];
    for await (const d of readDocuments(`${DATA}/corpus/${domain}.${split}.jsonl.gz`)) docs.push(d.text);
    for (const text of random.shuffle(docs).slice(0, n)) {
      const ids = tokenizer.encode(text);
      const start = Math.floor(random.next() * Math.max(1, ids.length - 128));
      out.push(broadcastLabel(ids.slice(start, start + 128), gold && domain === 'medical' ? 1 : 0));
    }
  }
  return out;
}

async function evaluate(classifier, limit) {
  const e = await evaluateTokenClassifier(classifier, SPLICED, 'medical', { limit });
  return { params_per_direction: classifier.bilm.forward.parameterCount().total, at_threshold_f1: e.atThreshold.f1, max_f1: e.maxF1.f1, precision: e.maxF1.precision, recall: e.maxF1.recall };
}

const [experiment, bilmPath, work = '/tmp/tokenfilter-w2s'] = process.argv.slice(2);
const bilm = await BiLM.load(bilmPath);
const random = new Random(5);
const result = { experiment };
if (experiment === 'unidirectional') {
  const train = await windows(bilm.tokenizer, 'train', 150, true, random);
  const val = await windows(bilm.tokenizer, 'val', 60, true, random);
  for (const direction of ['both', 'forward']) {
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [3], maxTrainTokens: 60000, direction });
    result[direction] = { corpus_val_max_f1: sweep[0].maxF1.f1, ...(await evaluate(classifier, 200)) };
    log(`${direction}: ${JSON.stringify(result[direction])}`);
  }
} else if (experiment === 'weak-to-strong') {
  const weakPath = join(work, 'weak.safetensors');
  await trainClassifierFromCorpus({
    ...CLASSIFIER_PRESETS.default, data: DATA, out: weakPath, dModel: 32, layers: 1, heads: 1, steps: 200, sweepLayers: [2], documentClassifier: false, onLog: log,
  });
  const weak = await TokenClassifier.load(weakPath);
  if (weak.bilm.tokenizer.hash !== bilm.tokenizer.hash) throw new Error('the weak and strong biLMs use different tokenizers (train both from the same preset and seed)');
  const train = await windows(bilm.tokenizer, 'train', 150, true, random);
  const weakLabels = labelsFromScores(train, await weak.scoreDocuments(train.map((s) => s.tokens)), weak.threshold);
  const val = await windows(bilm.tokenizer, 'val', 60, true, random);
  const { classifier } = await TokenClassifier.train({ bilm, bilmPath, train: weakLabels, val, layers: [3], maxTrainTokens: 60000 });
  const { classifier: gold } = await TokenClassifier.train({ bilm, bilmPath, train, val, layers: [3], maxTrainTokens: 60000 });
  result.weak = await evaluate(weak, 100);
  result.strong_from_weak = await evaluate(classifier, 100);
  result.strong_from_gold = await evaluate(gold, 100);
} else throw new Error('usage: classifier_quality.mjs unidirectional|weak-to-strong BILM [WORKDIR]');
console.log(JSON.stringify(result));
