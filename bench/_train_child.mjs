// Child process of bench/train.mjs: trains one configuration on random tokens and prints one
// JSON line with timings and its own peak RSS (VmHWM), so the parent's memory does not count.
import { readFileSync } from 'node:fs';
import { backendInfo, setThreads } from '../dist/native.js';
import { Transformer } from '../dist/model/transformer.js';
import { trainMasked } from '../dist/model/train.js';

function rssBytes(field) {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field + ':'));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : null;
}

const o = JSON.parse(process.argv[2]);
if (o.threads) setThreads(o.threads);
const baseline = rssBytes('VmRSS');
const model = await Transformer.create({
  vocabSize: o.vocab, dModel: o.dim, layers: o.layers, heads: o.heads, context: o.context, seed: 1,
});
let s = 12345;
const below = (n) => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return Math.floor((s / 4294967296) * n); };
function* batches(count) {
  const n = o.batch * o.context;
  for (let i = 0; i < count; i++) {
    yield {
      inputs: Uint32Array.from({ length: n }, () => below(o.vocab)),
      targets: Uint32Array.from({ length: n }, () => below(o.vocab)),
      lossMask: new Uint8Array(n).fill(1),
      batch: o.batch,
      context: o.context,
    };
  }
}
const total = o.warmup + o.steps;
const times = [];
let last = performance.now();
let cpuStart = process.cpuUsage();
if (o.profile) model.native.setProfiling(true);
await trainMasked(model, batches(total), {
  steps: total,
  lr: 1e-4,
  onProgress: (p) => {
    const now = performance.now();
    times.push(now - last);
    last = now;
    if (p.step === o.warmup) {
      cpuStart = process.cpuUsage();
      if (o.profile) model.native.resetProfile();
    }
  },
});
const cpu = process.cpuUsage(cpuStart);
const timed = times.slice(o.warmup);
const seconds = timed.reduce((a, b) => a + b, 0) / 1000;
const tokens = o.steps * o.batch * o.context;
const params = model.parameterCount();
const bytes = 4 * params.total;
console.log(JSON.stringify({
  tokens_per_s: tokens / seconds,
  // process CPU time of the timed steps: with one thread, the compute time without the time
  // other processes held the core
  tokens_per_cpu_s: tokens / ((cpu.user + cpu.system) / 1e6),
  step_ms_median: [...timed].sort((a, b) => a - b)[Math.floor(timed.length / 2)],
  params: params.total,
  non_embedding_params: params.nonEmbedding,
  flops_per_token: model.flopsPerToken(o.context),
  peak_rss_bytes: rssBytes('VmHWM'),
  baseline_rss_bytes: baseline,
  js_heap_total_bytes: process.memoryUsage().heapTotal,
  // weights + gradients + two AdamW moments + the activations backward reads
  theoretical_min_bytes: 4 * bytes + model.native.savedActivationBytesFor(o.batch, o.context),
  threads: backendInfo().threads,
  simd: backendInfo().simd,
  profile_ms_per_step: o.profile ? model.native.profile(o.steps) : undefined,
}));
