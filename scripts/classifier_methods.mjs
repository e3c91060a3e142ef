// One token classifier's probe under several scoring methods, on both kinds of held-out text
// (figures in docs/classifier.md). The biLM and probe run once per document; each method then
// turns the raw probe scores into scores.
//   node scripts/classifier_methods.mjs CLASSIFIER.safetensors [DATA] [LIMIT] [MIXES]
// Kinds: the first LIMIT documents of DATA/spliced/spliced.val.jsonl.gz (default 2000) and MIXES
// sentence-level mixes from DATA/corpus/*.val.jsonl.gz (default 1000, seed 0: the documents
// `tokenfilter eval-classifier --sentence-mixes DATA` builds). Per method and kind: F1 at the
// classifier's saved threshold (meaningful for its own method only) and the max F1 at any
// threshold. Prints one JSON line per method.
import { join } from 'node:path';
import { labelsFromSpans } from '../dist/classify/labels.js';
import { binaryMetrics, precisionRecallCurve } from '../dist/classify/metrics.js';
import { Random } from '../dist/data/random.js';
import { applyScoreMethod, describeScoreMethod } from '../dist/classify/score_method.js';
import { boundariesOf, boundaryIds } from '../dist/classify/segmentation.js';
import { sentenceMixesOf } from '../dist/classify/sentence_mixes.js';
import { TokenClassifier } from '../dist/classify/token_classifier.js';
import { readDocuments } from '../dist/data/read_documents.js';
import { readSplitByDomain } from '../dist/data/corpus_layout.js';

const [path, data = '../shared/data', limitText = '2000', mixesText = '1000'] = process.argv.slice(2);
const classifier = await TokenClassifier.load(path);
const tokenizer = classifier.bilm.tokenizer;
const spliced = [];
for await (const d of readDocuments(join(data, 'spliced', 'spliced.val.jsonl.gz'))) {
  if (spliced.length >= Number(limitText)) break;
  spliced.push({ text: d.text, spans: d.spans });
}
const texts = await readSplitByDomain(data, 'val');
const mixes = sentenceMixesOf(texts, 'medical', { count: Number(mixesText), random: new Random(0) });
const table = boundaryIds(tokenizer);
const kinds = [];
for (const [name, docs] of [['spliced.val', spliced], ['sentence-mixes', mixes]]) {
  const labelled = docs.map((d) => labelsFromSpans(tokenizer, d.text, d.spans, 'medical'));
  const raw = [];
  for (let i = 0; i < labelled.length; i += 32) raw.push(...(await classifier.rawScores(labelled.slice(i, i + 32).map((s) => s.tokens))));
  kinds.push({ name, labelled, raw, boundaries: labelled.map((s) => boundariesOf(s.tokens, table)) });
  process.stderr.write(`${name}: ${labelled.length} documents scored\n`);
}
const methods = [classifier.method, { kind: 'smooth', radius: 0 }, { kind: 'smooth', radius: 4 }, { kind: 'smooth', radius: 16 }, { kind: 'smooth', radius: 128 }];
for (const m of methods) {
  const row = { method: describeScoreMethod(m), saved: m === classifier.method };
  for (const k of kinds) {
    const scores = k.raw.map((p, i) => applyScoreMethod(p, m, k.boundaries[i]));
    const flat = Float32Array.from(scores.flatMap((s) => Array.from(s)));
    const labels = Uint8Array.from(k.labelled.flatMap((s) => Array.from(s.labels)));
    const at = binaryMetrics(flat, labels, classifier.threshold);
    const best = precisionRecallCurve(flat, labels).maxF1;
    row[k.name] = { atSavedThreshold: { f1: at.f1, precision: at.precision, recall: at.recall }, maxF1: best.f1, maxF1Threshold: best.threshold };
  }
  console.log(JSON.stringify(row));
}
