#!/usr/bin/env node
// Quality of SAE weak labels for the medical (forget) class, end to end on one machine:
// tokenizer → small labeller LM → residual activations at a middle layer → TopK SAE → latents
// chosen from domain labels of the training text → labelling rule on held-out text with gold
// spans → token precision / recall / F1, swept over K (latents kept), z and minLatents.
//
//   npx tsc -p tsconfig.json
//   nice node scripts/sae_quality.mjs --corpus spliced   # ../shared/data (corpus/ for training, spliced val for eval)
//   nice node scripts/sae_quality.mjs --corpus wordnet   # the default WordNet corpus (train split / val split)
//
// Every setting has a default (the best measured here, see docs/labelling.md); the options:
//   --out DIR       cache (default /tmp/tokenfilter-sae-quality-<corpus>); phases whose outputs
//                   exist in DIR are reused (tokenizer, LM, activations, SAE)
//   labeller LM      --layers 4 --d-model 256 --context 128 --heads 4 --batch 16 --lr 2e-3
//                   --steps N (default 700 spliced, 800 WordNet)
//   training text   --train-chars 12000000 (spliced: 40% medical / 20% biology / 40% general),
//                   --sample spread|head (spread: documents drawn across each whole file)
//   SAE             --layer 4 (residual stream after block 4, the last) --latents 4096 --k 32
//                   --sae-steps 800 (batches of 1,024 rows) --sae-tokens 150000 (the first
//                   training tokens, or 'all': the SAE's rows are drawn from them, and their
//                   domain labels rank the latents; both by fitSaeLabeller)
//   selection       --rank auroc|ratio, --max-k 512 (most latents swept)
//   evaluation      --eval-docs 600, --dev-docs 300 (dev text built from training files, used
//                   to pick K / z / minLatents without the evaluation gold)
// Prints JSON lines: one per sweep point (evaluation and dev scores), then the best point on the
// evaluation text and the point the dev text picks.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer, Transformer, backendInfo, joinDocuments, readDocuments, runTrain, spanTokenLabels, writeShard } from '../dist/index.js';
import { loadDefaultCorpus } from '../dist/data/default_corpus.js';
import { tokenActivations } from '../dist/label/activations.js';
import { labelTokensWithEot } from '../dist/label/label_tokens.js';
import { LatentMoments } from '../dist/label/latent_moments.js';
import { SparseAutoencoder } from '../dist/label/sae.js';
import { fitSaeLabeller } from '../dist/label/sae_labeller.js';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'spliced' },
    out: { type: 'string' },
    steps: { type: 'string' },
    layers: { type: 'string', default: '4' },
    'd-model': { type: 'string', default: '256' },
    context: { type: 'string', default: '128' },
    heads: { type: 'string', default: '4' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '2e-3' },
    layer: { type: 'string', default: '4' },
    latents: { type: 'string', default: '4096' },
    k: { type: 'string', default: '32' },
    'sae-steps': { type: 'string', default: '800' },
    'sae-tokens': { type: 'string', default: '150000' },
    'eval-docs': { type: 'string', default: '600' },
    'dev-docs': { type: 'string', default: '300' },
    sample: { type: 'string', default: 'spread' },
    'train-chars': { type: 'string', default: '12000000' },
    rank: { type: 'string', default: 'auroc' },
    'max-k': { type: 'string', default: '512' },
  },
});
const corpus = args.corpus;
if (corpus !== 'spliced' && corpus !== 'wordnet') throw new Error('--corpus must be spliced or wordnet');
args.steps ??= corpus === 'wordnet' ? '800' : '700';
if (args.sample !== 'spread' && args.sample !== 'head') throw new Error('--sample must be spread or head');
const out = args.out ?? `/tmp/tokenfilter-sae-quality-${corpus}`;
await mkdir(out, { recursive: true });
const started = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
const emit = (o) => process.stdout.write(`${JSON.stringify({ bench: 'sae_quality', corpus, layer: Number(args.layer), sae_k: Number(args.k), d_sae: Number(args.latents), rank: args.rank, ...o })}\n`);
log(`backend ${JSON.stringify(backendInfo())}`);

// ---- documents: training text with per-character domain spans, evaluation text with gold spans
const devPerDomain = { general: 0.6 * 6 * Number(args['dev-docs']), medical: 0.2 * 6 * Number(args['dev-docs']), biology: 0.2 * 6 * Number(args['dev-docs']) };
async function loadDocs() {
  if (corpus === 'wordnet') {
    const c = loadDefaultCorpus({ seed: 1 });
    // dev: set after the shuffle below (training documents the latent selection never reads)
    return { train: c.train, dev: null, evaluation: c.val.slice(0, Number(args['eval-docs'])) };
  }
  const data = '../shared/data';
  if (!existsSync(data)) {
    log(`skipping: ${data} is absent`);
    process.exit(0);
  }
  const perDomain = { medical: 0.4, biology: 0.2, general: 0.4 };
  const budget = Number(args['train-chars']);
  const train = [];
  const pools = {};
  // The corpus files are ordered by source (medical: all MedQuAD, then OHSUMED abstracts;
  // biology: OpenStax, then Gene Ontology), so the first documents would miss whole sources.
  // With --sample spread (the default) each document is drawn with the probability that meets
  // the domain's character budget, across the whole file; --sample head takes the first ones.
  const unit = (domain, i) => {
    let h = 2166136261;
    for (const c of `${domain}:${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    return h / 2 ** 32;
  };
  for (const [domain, share] of Object.entries(perDomain)) {
    const path = join(data, 'corpus', `${domain}.train.jsonl.gz`);
    let total = 0;
    let count = 0;
    if (args.sample === 'spread')
      for await (const doc of readDocuments(path)) {
        total += Math.min(4000, doc.text.length);
        count++;
      }
    const p = args.sample === 'spread' ? Math.min(1, (1.1 * share * budget) / total) : 1;
    const q = args.sample === 'spread' ? Math.min(1 - p, (1.5 * devPerDomain[domain]) / count) : 1;
    let chars = 0;
    let i = -1;
    const pool = (pools[domain] = []);
    for await (const doc of readDocuments(path)) {
      i++;
      const u = args.sample === 'spread' ? unit(domain, i) : 0;
      if (chars < share * budget && u < p) {
        const text = doc.text.slice(0, 4000);
        train.push({ text, spans: [[0, text.length, domain]] });
        chars += text.length;
      } else if (chars >= share * budget || (u >= p && u < p + q)) {
        // documents the LM and the SAE never see: paragraphs for the dev set
        const paragraphs = doc.text.split(/\n+/).map((t) => t.trim()).filter((t) => t.length >= 100 && t.length <= 3000);
        pool.push(...paragraphs.slice(0, 3));
        if (args.sample === 'head' && pool.length >= devPerDomain[domain]) break;
      }
    }
    // a shuffled pool, so the dev paragraphs come from the whole file
    if (args.sample === 'spread') {
      let ps = 4242;
      const poolRand = () => ((ps = (Math.imul(ps, 1103515245) + 12345) >>> 0) / 2 ** 32);
      for (let j = pool.length - 1; j > 0; j--) {
        const k = Math.floor(poolRand() * (j + 1));
        [pool[j], pool[k]] = [pool[k], pool[j]];
      }
    }
    log(`${domain}: ${chars} training characters, ${pool.length} dev paragraphs available`);
  }
  // dev set: 3–8 paragraphs per document, 60% general / 20% medical / 20% biology, joined by blank
  // lines with paragraph spans — the shape of spliced.val, built from training files only
  let ds = 777;
  const devRand = () => ((ds = (Math.imul(ds, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const dev = [];
  const taken = { medical: 0, biology: 0, general: 0 };
  for (let d = 0; d < Number(args['dev-docs']); d++) {
    const n = 3 + Math.floor(devRand() * 6);
    let text = '';
    const spans = [];
    for (let i = 0; i < n; i++) {
      const u = devRand();
      const domain = u < 0.6 ? 'general' : u < 0.8 ? 'medical' : 'biology';
      const pool = pools[domain];
      if (taken[domain] >= pool.length) continue;
      const paragraph = pool[taken[domain]++];
      if (text) text += '\n\n';
      spans.push([text.length, text.length + paragraph.length, domain]);
      text += paragraph;
    }
    if (text) dev.push({ text, spans });
  }
  const evaluation = [];
  for await (const doc of readDocuments(join(data, 'spliced', 'spliced.val.jsonl.gz'))) {
    evaluation.push({ text: doc.text, spans: doc.spans });
    if (evaluation.length >= Number(args['eval-docs'])) break;
  }
  return { train, dev, evaluation };
}

/** Tokens with <|endoftext|> after each document (tokenize stage); labels 1 medical, 0 other, 255 on eot; domains index DOMAINS, 255 for none. */
const DOMAINS = ['medical', 'biology', 'general'];
function encode(tokenizer, docs) {
  const eot = { eotId: tokenizer.eotId, separator: 'after', separatorLabel: 255 };
  // label k + 1 for DOMAINS[k] (the first listed wins), 0 for none
  const parts = docs.map((doc) => spanTokenLabels(tokenizer, doc, ['none', ...DOMAINS]));
  const { tokens, labels: byDomain } = joinDocuments(parts, eot);
  const labels = Uint8Array.from(byDomain, (l) => (l === 255 ? 255 : l === 1 ? 1 : 0));
  const domains = Uint8Array.from(byDomain, (l) => (l === 255 || l === 0 ? 255 : l - 1));
  return { tokens, labels, domains };
}

const docs = await loadDocs();
// deterministic shuffle of the training documents (domains interleave in the shard)
let rs = 12345;
const rand = () => ((rs = (Math.imul(rs, 1103515245) + 12345) >>> 0) / 2 ** 32);
for (let i = docs.train.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [docs.train[i], docs.train[j]] = [docs.train[j], docs.train[i]];
}
// WordNet dev text: the last shuffled training documents (sentence-level gold, as the selection
// uses), held out of everything else (tokenizer, LM, SAE, selection), never the val split
if (!docs.dev) {
  docs.dev = docs.train.slice(-Number(args['dev-docs']));
  docs.train = docs.train.slice(0, -Number(args['dev-docs']));
}
const vocabSize = corpus === 'wordnet' ? 2048 : 4096;
const tokPath = join(out, 'tokenizer.json');
const tokenizer = existsSync(tokPath) ? await Tokenizer.load(tokPath) : await Tokenizer.train(docs.train.map((d) => d.text), { vocabSize, maxChars: 4_000_000 });
if (!existsSync(tokPath)) await tokenizer.save(tokPath);
const train = encode(tokenizer, docs.train);
const evaluation = encode(tokenizer, docs.evaluation);
const dev = encode(tokenizer, docs.dev);
log(`${docs.train.length} training docs (${train.tokens.length} tokens), ${docs.dev.length} dev docs (${dev.tokens.length} tokens), ${docs.evaluation.length} eval docs (${evaluation.tokens.length} tokens)`);

// ---- labeller LM
const modelPath = join(out, 'lm.safetensors');
let model;
if (existsSync(modelPath)) model = await Transformer.load(modelPath);
else {
  const shard = join(out, 'train.bin');
  await writeShard(shard, train.tokens, { tokenizer });
  const steps = Number(args.steps);
  const trained = await runTrain({
    name: 'LM', stream: { shards: [shard] }, tokenizer, steps, lr: Number(args.lr), seed: 1, logEvery: 100, onLog: log,
    model: { layers: Number(args.layers), dModel: Number(args['d-model']), heads: Number(args.heads) }, context: Number(args.context), batch: Number(args.batch),
    save: { path: modelPath },
  });
  model = trained.model;
  const { summary } = trained;
  emit({ metric: 'lm_train', params: model.parameterCount().total, steps, final_loss: summary.finalLoss, seconds: summary.elapsedMs / 1000, tokens: summary.tokens });
}
const layer = Number(args.layer);
const D = model.config.dModel;

/** Residual activations [n, D] at `layer`, cached in DIR as raw float32 (keyed by layer, name and row count). */
async function activations(name, tokens, limit = tokens.length) {
  const n = Math.min(limit, tokens.length);
  const cache = join(out, `acts-l${layer}-${name}-${n}.f32`);
  if (existsSync(cache)) {
    const bytes = await readFile(cache);
    if (bytes.byteLength === n * D * 4) return new Float32Array(bytes.buffer, bytes.byteOffset, n * D);
  }
  const outActs = new Float32Array(n * D);
  for await (const block of tokenActivations(model, tokens.subarray(0, n), { layer, batch: 16 })) outActs.set(block.activations, block.start * D);
  await writeFile(cache, new Uint8Array(outActs.buffer));
  return outActs;
}

// ---- SAE and latent selection: fitSaeLabeller on the first --sae-tokens training tokens (the
// SAE's rows are drawn from them, and their domain labels rank the latents); the cache key names
// every SAE setting (steps and tokens only when not the defaults)
const saeKey = `sae-l${layer}-${args.latents}-k${args.k}${args['sae-steps'] === '800' ? '' : `-s${args['sae-steps']}`}${args['sae-tokens'] === '150000' ? '' : `-n${args['sae-tokens']}`}`;
const saePath = join(out, `${saeKey}.safetensors`);
const nSample = args['sae-tokens'] === 'all' ? train.tokens.length : Math.min(train.tokens.length, Number(args['sae-tokens']));
const cachedSae = existsSync(saePath) ? await SparseAutoencoder.load(saePath) : undefined;
const fitted = await fitSaeLabeller({
  model, layer, tokens: train.tokens.subarray(0, nSample), labels: train.labels.subarray(0, nSample),
  sae: cachedSae, steps: cachedSae ? 0 : Number(args['sae-steps']), dSae: Number(args.latents), k: Number(args.k), seed: 1,
  select: { by: args.rank, top: Number(args['max-k']) },
  onProgress: (p) => { if (p.step % 250 === 0) log(`SAE step ${p.step} mse ${p.mse.toFixed(3)} EV ${p.explainedVariance.toFixed(3)} L0 ${p.l0.toFixed(1)} dead ${p.dead}`); },
});
const sae = fitted.sae;
if (fitted.training) {
  await sae.save(saePath, { layer: String(layer) });
  const t = fitted.training;
  emit({ metric: 'sae_train', explained_variance: t.explainedVariance, l0: t.l0, dead_fraction: t.deadFraction, tokens_per_s: t.tokensPerSecond });
}
const ranked = fitted.latents;
const maxK = ranked.length;
emit({ metric: 'selection', sample_tokens: nSample, chosen: maxK });
log(`${maxK} latents chosen on ${nSample} training tokens`);
const chosen = ranked.map((s) => s.latent);
const audit = ranked.slice(0, 8).map((s) => ({
  latent: s.latent, score: +s.score.toFixed(2), auroc: +s.auroc.toFixed(3), precision: +s.precision.toFixed(3),
  contexts: fitted.selector.topContexts(s.latent).map((c) => tokenizer.decode(train.tokens.subarray(Math.max(0, c.position - 8), c.position + 3))),
}));
await writeFile(join(out, `latents-${args.rank}.json`), JSON.stringify({ ranked, audit }, null, 1));
log(`top latents: ${JSON.stringify(audit.slice(0, 4))}`);

// ---- labelling: K, z and minLatents swept on the dev text (built from training files) and on
// the evaluation text; each set's mean/std come from that set (the corpus being labelled)
const selectedCodes = sae.codesReusing(sae.encoderFor(chosen)); // exact codes [T, maxK], what the rule reads
async function prepare(name, set) {
  const acts = await activations(name, set.tokens);
  const T = set.tokens.length;
  const codes = new Float32Array(T * maxK);
  for (let start = 0; start < T; start += 8192) {
    const end = Math.min(T, start + 8192);
    codes.set(await selectedCodes(acts.subarray(start * D, end * D)), start * maxK);
  }
  const moments = new LatentMoments(maxK).update(codes);
  let gold = 0;
  let scored = 0;
  for (const l of set.labels) {
    gold += l === 1 ? 1 : 0;
    scored += l === 255 ? 0 : 1;
  }
  return { set, T, codes, mean: moments.meanF32(), std: moments.std(), gold, scored };
}
/** The first K selected latents' codes [T, K], copied once per K. */
function firstK(p, K) {
  const sub = new Float32Array(p.T * K);
  for (let t = 0; t < p.T; t++) sub.set(p.codes.subarray(t * maxK, t * maxK + K), t * K);
  return sub;
}
function score(p, sub, K, z, minLatents, byDomain = false) {
  const { set, T, mean, std, gold, scored } = p;
  const labels = labelTokensWithEot(sub, set.tokens, tokenizer.eotId, { tokens: T, latents: K, mean: mean.subarray(0, K), std: std.subarray(0, K), z, minLatents });
  if (byDomain) {
    // fraction of each gold domain's tokens labelled forget
    const n = [0, 0, 0];
    const hit = [0, 0, 0];
    for (let t = 0; t < T; t++) {
      const d = set.domains[t];
      if (d === 255) continue;
      n[d]++;
      hit[d] += labels[t];
    }
    return Object.fromEntries(DOMAINS.map((name, d) => [name, n[d] ? +(hit[d] / n[d]).toFixed(4) : null]));
  }
  let tp = 0;
  let fp = 0;
  for (let t = 0; t < T; t++) {
    if (set.labels[t] === 255) continue;
    if (labels[t]) set.labels[t] === 1 ? tp++ : fp++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = gold ? tp / gold : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision: +precision.toFixed(4), recall: +recall.toFixed(4), f1: +f1.toFixed(4), labelled_fraction: +((tp + fp) / scored).toFixed(4) };
}
const devPrepared = dev.tokens.length ? await prepare('dev', dev) : null;
const evalPrepared = await prepare('eval', evaluation);
const points = [];
// K: powers of two up to the latents chosen, and all of them
const sizes = [4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((k) => k < maxK).concat(maxK);
for (const K of sizes) {
  const evalSub = firstK(evalPrepared, K);
  const devSub = devPrepared ? firstK(devPrepared, K) : null;
  for (const z of [0.5, 1, 2, 3, 4, 6, 8])
    for (const minLatents of [1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32]) {
      const point = { metric: 'medical_f1', K, z, minLatents, ...score(evalPrepared, evalSub, K, z, minLatents) };
      if (devPrepared) point.dev = score(devPrepared, devSub, K, z, minLatents);
      points.push(point);
      emit(point);
    }
}
const goldFraction = +(evalPrepared.gold / evalPrepared.scored).toFixed(4);
const best = points.reduce((a, b) => (b.f1 > a.f1 ? b : a));
const labelledByDomain = (p) => score(evalPrepared, firstK(evalPrepared, p.K), p.K, p.z, p.minLatents, true);
emit({ ...best, metric: 'best_medical_f1', gold_fraction: goldFraction, labelled_by_domain: labelledByDomain(best), seconds: (Date.now() - started) / 1000 });
if (devPrepared) {
  // the point a user without gold on the text being labelled would pick: best on the dev text
  const chosenOnDev = points.reduce((a, b) => (b.dev.f1 > a.dev.f1 ? b : a));
  emit({ ...chosenOnDev, metric: 'dev_selected_medical_f1', gold_fraction: goldFraction, labelled_by_domain: labelledByDomain(chosenOnDev) });
}
