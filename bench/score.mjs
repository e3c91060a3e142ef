// Scoring throughput of the biLM token classifier over a token shard (tokens/s on this
// machine's threads), and the cost of scoring one token as a fraction of the pretraining FLOPs
// per token of the ladder models (target ≤ 5%).
// npm run bench -- score [--dim 128] [--layers 2] [--heads 2] [--context 128] [--layer 3]
//   [--vocab 2048] [--tokens 200000] [--doc 600] [--ladder-vocab 50257] [--ladder-context 1024]
//   [--device cpu|cuda|auto] [--precision fp32|tf32|bf16] (where the scoring biLM runs)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BiLM } from '../dist/classify/bilm.js';
import { broadcastLabel } from '../dist/classify/labels.js';
import { scoreShards } from '../dist/classify/score_shards.js';
import { TokenClassifier } from '../dist/classify/token_classifier.js';
import { planWindows } from '../dist/classify/windows.js';
import { Tokenizer } from '../dist/data/tokenizer.js';
import { writeShard } from '../dist/data/shard.js';
import { ladderConfig } from '../dist/model/config.js';
import { Transformer } from '../dist/model/transformer.js';
import { backendInfo } from '../dist/native.js';

/** The device the scoring biLM asks for (the option, else TOKENFILTER_DEVICE, else cpu). */
function classifierDevice(options) {
  return options.device ?? (process.env.TOKENFILTER_DEVICE || 'cpu');
}

/** Inference FLOPs per position of one causal model read at `layer` with sequence length T. */
function inferenceFlops(config, layer, T) {
  const blocks = Math.min(layer, config.layers);
  const C = config.dModel;
  return blocks * (2 * (4 * C * C + 2 * C * config.hidden) + 2 * T * C);
}

export async function run(options = {}) {
  const C = options.dim ?? 128;
  const L = options.layers ?? 2;
  const heads = options.heads ?? 2;
  const context = options.context ?? 128;
  const layer = options.layer ?? L + 1;
  const vocab = options.vocab ?? 2048;
  const total = options.tokens ?? 200_000;
  const docLength = options.doc ?? 600;
  const dir = mkdtempSync(join(tmpdir(), 'tf-bench-score-'));
  try {
    // a tokenizer of the requested size (trained on synthetic text; speed does not depend on it)
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const words = Array.from({ length: 3000 }, () => Array.from({ length: 3 + Math.floor(rand() * 6) }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join(''));
    const text = Array.from({ length: 200_000 }, () => words[Math.floor(rand() * words.length)]).join(' ');
    const tokenizer = await Tokenizer.train([text], { vocabSize: vocab });
    const bilm = await BiLM.create(tokenizer, { dModel: C, layers: L, heads, context });
    const bilmPath = join(dir, 'bilm.safetensors');
    await bilm.save(bilmPath);
    const sample = (n) => Uint32Array.from({ length: n }, () => Math.floor(rand() * (tokenizer.vocabSize - 2)));
    const { classifier } = await TokenClassifier.train({
      bilm, bilmPath, layers: [layer],
      train: [broadcastLabel(sample(64), 1), broadcastLabel(sample(64), 0)],
      val: [broadcastLabel(sample(32), 1), broadcastLabel(sample(32), 0)],
    });
    const clf = join(dir, 'clf.safetensors');
    await classifier.save(clf);
    const docs = Math.ceil(total / (docLength + 1));
    const tokens = new Uint32Array(docs * (docLength + 1));
    for (let d = 0; d < docs; d++) {
      tokens[d * (docLength + 1)] = tokenizer.eotId;
      tokens.set(sample(docLength), d * (docLength + 1) + 1);
    }
    const shard = join(dir, 'bench.bin');
    await writeShard(shard, tokens, { tokenizer });
    const t0 = performance.now();
    const device = { device: options.device, precision: options.precision }; // default: TOKENFILTER_DEVICE, else cpu; fp32
    const result = await scoreShards({ shards: [shard], classifier: clf, out: join(dir, 'out'), device });
    const seconds = (performance.now() - t0) / 1000;
    const tokensPerSecond = result.tokens / seconds;

    // FLOPs actually spent per scored token, windows' overlap included
    let processed = 0;
    let flops = 0;
    for (const w of planWindows(docLength, context)) {
      processed += w.length;
      flops += 2 * w.length * inferenceFlops(bilm.forward.config, layer, w.length);
    }
    const flopsPerToken = flops / docLength + 2 * 2 * C;
    const common = { device: classifierDevice(options), precision: device.precision ?? 'fp32', threads: backendInfo().threads, simd: backendInfo().simd, bilm: { dModel: C, layers: L, context, layer, vocab: tokenizer.vocabSize, paramsPerDirection: bilm.forward.parameterCount().total }, docLength, overlap: processed / docLength };
    console.log(JSON.stringify({ bench: 'score', metric: 'tokens_per_s', value: tokensPerSecond, unit: 'tokens/s', tokens: result.tokens, seconds, ...common }));
    console.log(JSON.stringify({ bench: 'score', metric: 'flops_per_scored_token', value: flopsPerToken, unit: 'FLOPs', ...common }));
    for (const depth of [2, 8]) {
      const config = ladderConfig(depth, { vocabSize: options['ladder-vocab'] ?? 50257, context: options['ladder-context'] ?? 1024 });
      const model = Transformer.uninitialized(config);
      const pretrain = model.flopsPerToken();
      console.log(JSON.stringify({
        bench: 'score', metric: 'scoring_cost_fraction', value: flopsPerToken / pretrain, unit: 'fraction', target: 0.05,
        ladderDepth: depth, ladderVocab: config.vocabSize, ladderContext: config.context, pretrainFlopsPerToken: pretrain, ...common,
      }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
