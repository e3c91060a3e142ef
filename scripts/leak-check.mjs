// Leak check: create / train-step / destroy cycles of Transformer, SparseAutoencoder and
// Tokenizer at small shapes, watching the process's resident memory outside the JS heap (RSS
// minus V8's heap total: the young generation grows by 16 MiB steps under a high allocation
// rate, which says nothing about native leaks). Each kind runs a warm-up (allocator pools, JIT,
// caches settle), then the measured cycles; memory is sampled after a full GC every `--sample`
// cycles, and growth is the last sample minus the first. Leaking the native
// object of one cycle (a model with its gradients and AdamW moments, an SAE, a tokenizer's
// tables) adds far more than the bound over 1,000 cycles: `--retain` keeps every object alive
// to show it, and must fail. The bound leaves room for allocator noise (a few MiB).
//   node --expose-gc scripts/leak-check.mjs [--cycles N] [--bound-mib B] [--sample K] [--retain]
// (`npm run leak-check` passes --expose-gc itself.) Prints JSON lines
// {bench: 'leak-check', metric, value, unit, ...}; exits 1 if any kind grew by more than B MiB.
import { Tokenizer } from '../dist/data/tokenizer.js';
import { SparseAutoencoder } from '../dist/label/sae.js';
import { Transformer } from '../dist/model/transformer.js';
import { randomArray } from '../bench/_random.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!(value > 0)) throw new Error(`${name} needs a positive number`);
  return value;
};
const cycles = option('--cycles', 1000);
const boundMiB = option('--bound-mib', 16);
const sampleEvery = option('--sample', 100);
const warmup = Math.max(20, Math.round(cycles / 4));
const retained = args.includes('--retain') ? [] : undefined;

if (typeof globalThis.gc !== 'function') {
  console.error('leak-check: run node with --expose-gc');
  process.exit(2);
}
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};
const nativeMiB = () => {
  const { rss, heapTotal } = process.memoryUsage();
  return (rss - heapTotal) / 2 ** 20;
};

// One cycle per kind: everything created in it is unreachable when it returns.
const B = 2, T = 16, V = 96;
const tokens = Uint32Array.from({ length: B * T }, (_, i) => (i * 37) % V);
const batch = { batch: B, context: T, inputs: tokens, targets: tokens.map((t) => (t + 1) % V), lossMask: new Uint8Array(B * T).fill(1) };
const update = { zeroGradients: true, update: true, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1 };
const saeRows = randomArray(64 * 32, 5);
const corpus = ['the patient was given a dose of the drug', 'a tree grows in the forest near the river', 'numbers 1234 and symbols #!'];
const tokenizer = await Tokenizer.train(corpus.map((t) => t.repeat(8)), { vocabSize: 300 });
const tokenizerJson = JSON.stringify(tokenizer.toJSON());

const kinds = {
  Transformer: async (i) => {
    const model = await Transformer.create({ vocabSize: V, dModel: 32, layers: 2, heads: 2, context: T, seed: i });
    await model.native.step([batch], update);
    retained?.push(model);
  },
  SparseAutoencoder: async (i) => {
    const sae = SparseAutoencoder.create({ dModel: 32, dSae: 128, kind: 'topk', k: 8, seed: i });
    const model = sae.trainingModel();
    await model.step(saeRows, 1e-3, 0.9, 0.999, 1e-8);
    retained?.push(model);
  },
  Tokenizer: async (i) => {
    const t = Tokenizer.fromJSON(tokenizerJson);
    t.encode(corpus[i % corpus.length]);
    await t.encodeBatch(corpus);
    retained?.push(t);
  },
};

let failed = false;
const started = performance.now();
for (const [kind, cycle] of Object.entries(kinds)) {
  const t0 = performance.now();
  for (let i = 0; i < warmup; i++) await cycle(i);
  await settle();
  const samples = [nativeMiB()];
  for (let i = 1; i <= cycles; i++) {
    await cycle(i);
    if (i % sampleEvery === 0) {
      await settle();
      samples.push(nativeMiB());
    }
  }
  const growth = samples.at(-1) - samples[0];
  const ok = growth <= boundMiB;
  failed ||= !ok;
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bench: 'leak-check', metric: `${kind}.nativeRssGrowth`, value: Number(growth.toFixed(2)), unit: 'MiB', bound: boundMiB, cycles, ok, seconds: Number(seconds.toFixed(1)), samples: samples.map((s) => Number(s.toFixed(1))) }));
}
console.log(JSON.stringify({ bench: 'leak-check', metric: 'seconds', value: Number(((performance.now() - started) / 1000).toFixed(1)), unit: 's' }));
process.exit(failed ? 1 : 0);
