// Scoring cost of token classifiers against the ladder's pretraining cost, per token.
//   node scripts/classifier_cost.mjs CLASSIFIER.safetensors... [--doc 600] [--texts FILE.jsonl.gz [--limit N]] [--reading window|sentence]
//     [--shape D,L,READ[,CONTEXT[,VOCAB]]]...
// (--shape: a biLM not trained, width D, L blocks, read at layer READ; context 128, vocabulary 2048 by default)
// The biLM reads as the classifier file says (reading.ts; `--reading` overrides, and sets it for
// --shape). Window reading is counted on documents of --doc tokens; with --texts (or sentence
// reading, which needs it) on the first --limit (default 400) documents of that file, encoded
// with the classifier's tokenizer (the first classifier's for --shape), every piece the biLM
// would read counted at its own length.
// For each classifier: its biLM's shape, the layers read, FLOPs per scored token for documents
// of --doc tokens (the half-overlapping windows of windows.ts included; both directions, the
// blocks up to the deepest layer read, counted once when several layers are read (one pass
// keeps every state on the way; layer_features.ts runs a pass per layer, which costs wall
// time, not FLOPs, for layer 0: an embedding lookup), the probe; segmentation and smoothing add ~10 FLOPs per token),
// and that as a share of the pretraining FLOPs per token (Transformer.flopsPerToken) of the
// ladder's depth-2 and depth-8 models (ladderConfig, vocabulary 50257, context 1024), the
// convention of bench/score.mjs. A classifier with a lexicon (lexicon.ts) adds a few operations per
// token (two hashed look-ups per word); with a probe weight of 0 the biLM is not run at all and
// its FLOPs are 0.
import { readSafetensors } from '../dist/model/safetensors.js';
import { BiLM } from '../dist/classify/bilm.js';
import { planWindows } from '../dist/classify/windows.js';
import { parseReading, planReading } from '../dist/classify/reading.js';
import { boundaryIds } from '../dist/classify/segmentation.js';
import { readDocuments } from '../dist/data/read_documents.js';
import { ladderConfig, resolveTransformerConfig } from '../dist/model/config.js';
import { Transformer } from '../dist/model/transformer.js';
import { dirname, resolve } from 'node:path';

/** Inference FLOPs per position of one causal model read after `layer` blocks, sequence length T (as bench/score.mjs). */
function inferenceFlops(config, layer, T) {
  const blocks = Math.min(layer, config.layers);
  const C = config.dModel;
  return blocks * (2 * (4 * C * C + 2 * C * config.hidden) + 2 * T * C);
}

const args = process.argv.slice(2);
const docAt = args.indexOf('--doc');
const docLength = docAt >= 0 ? Number(args.splice(docAt, 2)[1]) : 600;
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const textsPath = option('--texts');
const limit = Number(option('--limit') ?? 400);
const readingOverride = option('--reading');
const shapes = [];
for (let at; (at = args.indexOf('--shape')) >= 0; ) shapes.push(args.splice(at, 2)[1].split(',').map(Number));
const ladder = Object.fromEntries([2, 8].map((d) => [d, Transformer.uninitialized(ladderConfig(d, { vocabSize: 50257, context: 1024 })).flopsPerToken()]));
let tokenizer;
const entries = [
  ...args.map((path) => async () => {
    const m = (await readSafetensors(path)).metadata;
    const bilm = await BiLM.load(resolve(dirname(path), m.bilm));
    tokenizer ??= bilm.tokenizer;
    const reading = parseReading(readingOverride ?? m.reading ?? 'window');
    const lexicon = m.lexicon ? JSON.parse(m.lexicon) : null;
    return { name: path, model: bilm.forward, tokenizer: bilm.tokenizer, reading, layer: Number(m.layer), layers: m.layers ? JSON.parse(m.layers) : [Number(m.layer)], lexicon };
  }),
  ...shapes.map(([dModel, blocks, layer, context = 128, vocabSize = 2048]) => async () => {
    const config = resolveTransformerConfig({ vocabSize, dModel, layers: blocks, heads: Math.max(1, dModel / 64), context });
    const reading = parseReading(readingOverride ?? 'window');
    return { name: `shape ${dModel}x${blocks} read at ${layer}`, model: Transformer.uninitialized(config), reading, layer, layers: [layer] };
  }),
];
let texts;
async function encodedTexts(tok) {
  if (!texts) {
    texts = [];
    for await (const d of readDocuments(textsPath)) {
      if (texts.length >= limit) break;
      texts.push(d.text);
    }
  }
  return texts.map((t) => tok.encode(t));
}
for (const entry of entries) {
  const { name: path, model, layer, layers, reading, tokenizer: own, lexicon = null } = await entry();
  const config = model.config;
  let flops = 0;
  let tokens = 0;
  if (textsPath || reading === 'sentence') {
    if (!textsPath) throw new Error('sentence reading is counted on real text: give --texts FILE');
    const tok = own ?? tokenizer;
    if (!tok) throw new Error('--shape with --texts needs a classifier file first (its tokenizer)');
    const table = boundaryIds(tok);
    for (const doc of await encodedTexts(tok)) {
      tokens += doc.length;
      for (const w of planReading(doc, config.context, reading, table)) flops += 2 * w.length * inferenceFlops(config, layer, w.length);
    }
  } else {
    tokens = docLength;
    for (const w of planWindows(docLength, config.context)) flops += 2 * w.length * inferenceFlops(config, layer, w.length);
  }
  const perToken = lexicon?.probeWeight === 0 ? 0 : flops / tokens + 2 * 2 * config.dModel * layers.length;
  const counts = model.parameterCount();
  console.log(JSON.stringify({
    classifier: path, dModel: config.dModel, blocks: config.layers, context: config.context, layer, readLayers: layers, paramsPerDirection: counts.total,
    nonEmbeddingPerDirection: counts.nonEmbedding, reading, ...(textsPath || reading === 'sentence' ? { texts: textsPath, documents: texts.length, tokens } : { docLength }), lexicon: lexicon && { probeWeight: lexicon.probeWeight }, flopsPerScoredToken: perToken,
    shareOfLadder: { depth2: perToken / ladder[2], depth8: perToken / ladder[8] },
  }));
}
