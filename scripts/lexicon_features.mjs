// The lexicon alone under each set of features and bucket count (issue 16, fifth round; a
// diagnostic, not a shipped classifier). For each set: a lexicon fitted on the whole training split
// (document labels on every sentence), scored alone (the sigmoid of its evidence) under every
// method of LEXICON_SEGMENTATION_GRID; the method and threshold are chosen on a blend of two
// choice kinds built from the val splits (spliced.val documents 0–999, sentence mixes of seed 5),
// then F1 is read at that threshold on two kinds held apart from the choice (spliced.val documents
// 1000–1999, sentence mixes of seed 0). Both pairs come from the same val documents, so this
// ranks feature sets; it is not a test figure.
//   node scripts/lexicon_features.mjs DATA BILM [--objective mean|worst] [SET ...]
// SET is FEATURES:BITS, e.g. word,pair:20 (default: the sets of docs/classifier.md's fifth round).
// One JSON line per set.
import { join } from 'node:path';
import { BiLM } from '../dist/classify/bilm.js';
import { blendThreshold, checkBlendObjective } from '../dist/classify/blend_selection.js';
import { broadcastLabel, labelsFromSpans } from '../dist/classify/labels.js';
import { Lexicon } from '../dist/classify/lexicon.js';
import { binaryMetrics } from '../dist/classify/metrics.js';
import { applyScoreMethod, candidateMethods, describeScoreMethod, LEXICON_SEGMENTATION_GRID } from '../dist/classify/score_method.js';
import { boundariesOf, boundaryIds } from '../dist/classify/segmentation.js';
import { sentenceMixesOf } from '../dist/classify/sentence_mixes.js';
import { readSplitByDomain } from '../dist/data/corpus_layout.js';
import { Random } from '../dist/data/random.js';
import { readDocuments } from '../dist/data/read_documents.js';

const args = process.argv.slice(2);
const at = args.indexOf('--objective');
const objective = at >= 0 ? args.splice(at, 2)[1] : 'mean';
checkBlendObjective(objective);
const [data, bilmPath, ...setArgs] = args;
if (!bilmPath) throw new Error('usage: lexicon_features.mjs DATA BILM [--objective mean|worst] [FEATURES:BITS ...]');
const sets = (setArgs.length ? setArgs : [
  'word,pair:20', 'word,pair,punctuation:20', 'word,pair,numberShape:20', 'word,pair,punctuation,numberShape:20',
  'word,pair,punctuation,numberShape:21', 'word,pair,punctuation,numberShape:22',
]).map((s) => {
  const [features, bits] = s.split(':');
  return { features: features.split(','), bits: Number(bits) };
});

const { tokenizer } = await BiLM.load(bilmPath);
const train = await readSplitByDomain(data, 'train');
const sequences = Object.entries(train).flatMap(([domain, texts]) => texts.map((t) => broadcastLabel(tokenizer.encode(t), domain === 'medical' ? 1 : 0)));
const spliced = [];
for await (const d of readDocuments(join(data, 'spliced', 'spliced.val.jsonl.gz'))) spliced.push(labelsFromSpans(tokenizer, d.text, d.spans, 'medical'));
const val = await readSplitByDomain(data, 'val');
const mixes = (seed) => sentenceMixesOf(val, 'medical', { count: 1000, random: new Random(seed) }).map((d) => labelsFromSpans(tokenizer, d.text, d.spans, 'medical'));
const table = boundaryIds(tokenizer);
const kinds = [['choice paragraph', spliced.slice(0, 1000)], ['choice sentence', mixes(5)], ['apart paragraph', spliced.slice(1000)], ['apart sentence', mixes(0)]]
  .map(([name, seqs]) => ({ name, seqs, boundaries: seqs.map((q) => boundariesOf(q.tokens, table)), labels: Uint8Array.from(seqs.flatMap((q) => Array.from(q.labels))) }));
const flat = (arrays) => {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};

for (const set of sets) {
  const started = performance.now();
  const lexicon = await Lexicon.fit(sequences, tokenizer, { bits: set.bits, features: set.features });
  const fitSeconds = (performance.now() - started) / 1000;
  const evidence = kinds.map((k) => k.seqs.map((q) => Float32Array.from(lexicon.evidence(q.tokens), (e) => 1 / (1 + Math.exp(-e)))));
  let best = null;
  for (const method of candidateMethods([0], LEXICON_SEGMENTATION_GRID)) {
    const scored = kinds.map((k, i) => ({ name: k.name, labels: k.labels, scores: flat(evidence[i].map((p, d) => applyScoreMethod(p, method, k.boundaries[d]))) }));
    const blend = blendThreshold(scored.slice(0, 2), 1024, objective);
    if (!best || blend.objective > best.blend.objective) best = { method, blend, scored };
  }
  const f1 = (i) => +binaryMetrics(best.scored[i].scores, best.scored[i].labels, best.blend.threshold).f1.toFixed(4);
  console.log(JSON.stringify({
    features: set.features, bits: set.bits, sentences: lexicon.fit.sentences, fitSeconds: +fitSeconds.toFixed(1), objective,
    method: describeScoreMethod(best.method), threshold: +best.blend.threshold.toFixed(3),
    choice: { paragraph: f1(0), sentence: f1(1) }, apart: { paragraph: f1(2), sentence: f1(3) },
  }));
}
