// A logit mixture across readings (issue 16, third round; a diagnostic, not a shipped classifier):
// the probe on layer L read windowed and the probe on layer L read sentence by sentence, both
// fitted on the default preset's probe data for a saved biLM, then sentence + α · window logits,
// α and the scoring method chosen on the held-out blend exactly as train-classifier chooses
// (blendThreshold, selectOnBlend over every entry and method), then both test kinds at the chosen
// threshold.
//   node scripts/classifier_readings.mjs DATA BILM WORK [--layer 2] [--scales 0.125,0.25,0.5,1,2] [--limit N]
// WORK gets the two single-reading classifiers (window.safetensors, sentence.safetensors).
import { join } from 'node:path';
import { CLASSIFIER_PRESETS, trainClassifierFromCorpus } from '../dist/classify/train_from_corpus.js';
import { TokenClassifier, DEFAULT_SMOOTHING_RADII } from '../dist/classify/token_classifier.js';
import { featuresOfLayers } from '../dist/classify/layer_features.js';
import { probeLogits, mixedProbabilities } from '../dist/classify/logit_mixture.js';
import { candidateMethods, applyScoreMethod, describeScoreMethod } from '../dist/classify/score_method.js';
import { blendThreshold, selectOnBlend } from '../dist/classify/blend_selection.js';
import { boundaryIds, boundariesOf } from '../dist/classify/segmentation.js';
import { evaluateTokenClassifier, evaluateTokenClassifierOn } from '../dist/classify/evaluate.js';
import { sentenceMixesOf } from '../dist/classify/sentence_mixes.js';
import { readSplitByDomain } from '../dist/data/corpus_layout.js';
import { Random } from '../dist/data/random.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const layer = Number(option('--layer', '2'));
const scales = option('--scales', '0.125,0.25,0.5,1,2').split(',').map(Number);
const limit = Number(option('--limit', 'Infinity'));
const [data, bilmPath, work] = args;
if (!work) throw new Error('usage: classifier_readings.mjs DATA BILM WORK [--layer 2] [--scales ...] [--limit N]');
const log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

// the preset's probe data (same seed and split as train-classifier --preset default --bilm), one probe per reading
let captured;
const files = {};
for (const reading of ['window', 'sentence']) {
  files[reading] = join(work, `${reading}.safetensors`);
  await trainClassifierFromCorpus({
    ...CLASSIFIER_PRESETS.default, data, out: files[reading], bilm: bilmPath, sweepLayers: [layer], mixtures: [], reading, documentClassifier: false,
    relabel: async ({ tokenTrain, valSets }) => {
      captured ??= valSets;
      return { tokenTrain: [...tokenTrain], valSets: [...valSets] };
    },
  });
  log(`${reading} probe on layer ${layer} → ${files[reading]}`);
}
const probes = { window: await TokenClassifier.load(files.window), sentence: await TokenClassifier.load(files.sentence) };
const bilm = probes.window.bilm;
const table = boundaryIds(bilm.tokenizer);

/** Exact logits of both probes for documents. */
async function logitsOf(documents) {
  const out = {};
  for (const reading of ['window', 'sentence']) {
    const feats = await featuresOfLayers(bilm, documents, [layer], { reading });
    out[reading] = feats.map((f) => probeLogits(probes[reading].probe, f));
  }
  return out;
}
const entries = [
  { name: 'sentence only', combine: (z, d) => mixedProbabilities(z.sentence[d], z.window[d], 0) },
  { name: 'window only', combine: (z, d) => mixedProbabilities(z.window[d], z.sentence[d], 0) },
  ...scales.map((a) => ({ name: `sentence + ${a} window`, combine: (z, d) => mixedProbabilities(z.sentence[d], z.window[d], a) })),
];

// choices on the held-out blend
const methods = candidateMethods(DEFAULT_SMOOTHING_RADII, true);
const kinds = [];
for (const set of captured) {
  const docs = set.sequences.map((s) => s.tokens);
  kinds.push({ name: set.name, sequences: set.sequences, z: await logitsOf(docs), boundaries: docs.map((t) => boundariesOf(t, table)) });
}
const flat = (kind, scores) => {
  const s = [];
  const l = [];
  kind.sequences.forEach((seq, d) => seq.labels.forEach((v, t) => { if (v === 0 || v === 1) { s.push(scores[d][t]); l.push(v); } }));
  return { name: kind.name, scores: Float32Array.from(s), labels: Uint8Array.from(l) };
};
const settings = [];
for (const entry of entries) {
  const raw = kinds.map((k) => k.sequences.map((_, d) => entry.combine(k.z, d)));
  let best;
  for (const method of methods) {
    const blend = blendThreshold(kinds.map((k, i) => flat(k, raw[i].map((p, d) => applyScoreMethod(p, method, k.boundaries[d])))));
    const setting = { entry, method, blend, f1: blend.kinds.map((k) => k.f1), objective: blend.objective };
    settings.push(setting);
    if (!best || blend.objective > best.objective) best = setting;
  }
  log(`held out, ${entry.name}: blend ${best.objective.toFixed(4)} (${best.blend.kinds.map((k) => `${k.name} ${k.f1.toFixed(4)}`).join(', ')}) at ${best.blend.threshold.toFixed(3)} with ${describeScoreMethod(best.method)}`);
}
const chosen = settings[selectOnBlend(settings)];
log(`chosen on the blend: ${chosen.entry.name}, ${describeScoreMethod(chosen.method)}, threshold ${chosen.blend.threshold.toFixed(4)}, held out ${chosen.blend.kinds.map((k) => `${k.name} ${k.f1.toFixed(4)}`).join(', ')}`);

// the test kinds at the chosen threshold
const scorer = {
  bilm, threshold: chosen.blend.threshold,
  async scoreDocuments(documents) {
    const z = await logitsOf(documents);
    return documents.map((t, d) => applyScoreMethod(chosen.entry.combine(z, d), chosen.method, boundariesOf(t, table)));
  },
};
const texts = await readSplitByDomain(data, 'val');
const show = (name, e) => log(`test, ${name}: F1 ${e.atThreshold.f1.toFixed(4)} (P ${e.atThreshold.precision.toFixed(4)}, R ${e.atThreshold.recall.toFixed(4)}), max F1 ${e.maxF1.f1.toFixed(4)}; ${e.documents} documents, ${e.items} tokens`);
show('spliced.val', await evaluateTokenClassifier(scorer, join(data, 'spliced', 'spliced.val.jsonl.gz'), 'medical', { limit }));
show('sentence mixes', await evaluateTokenClassifierOn(scorer, sentenceMixesOf(texts, 'medical', { count: 1000, random: new Random(0) }), 'medical', { limit }));
