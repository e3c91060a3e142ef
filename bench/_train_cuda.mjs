// `npm run bench -- train --device cuda [--layers L --dim C --heads NH --vocab V --context T
// --batch B] [--steps S] [--warmup W] [--precision fp32|tf32|bf16]`: trainMasked-equivalent
// steps (forward, backward, AdamW) of a model on the GPU, random tokens, every target
// supervised. Default: the GPT-2 124M shape (12 layers, d 768, 12 heads, vocab 50257,
// T 1024, B 8) in bf16. MFU = flopsPerToken (6·N_matmul + causal attention) × tokens/s over
// the device's peak at that precision (bench/_cuda_peak.mjs). One JSON line:
// {bench:'train', device:'cuda', tokens_per_s, tflops, peak_tflops, mfu, step_ms, loss_first,
// loss_last, gpu, ...}.
import { cudaBackend } from '../dist/native.js';
import { Transformer } from '../dist/model/transformer.js';
import { cudaPeakTflops } from './_cuda_peak.mjs';

export async function runCudaTrain(options) {
  const cuda = cudaBackend();
  if (!cuda.available) throw new Error(`--device cuda: CUDA is not available: ${cuda.reason}`);
  const c = { layers: 12, dim: 768, heads: 12, vocab: 50257, context: 1024, batch: 8, ...options };
  const precision = options.precision ?? 'bf16';
  const steps = options.steps ?? 6, warmup = options.warmup ?? 2;
  const model = await Transformer.create({
    vocabSize: c.vocab, dModel: c.dim, layers: c.layers, heads: c.heads, context: c.context, seed: 1, device: 'cuda', precision,
  });
  const n = c.batch * c.context;
  const batch = () => {
    const inputs = Uint32Array.from({ length: n }, () => Math.floor(Math.random() * c.vocab));
    return { inputs, targets: inputs.map((t) => (t * 31 + 7) % c.vocab), lossMask: new Uint8Array(n).fill(1), batch: c.batch, context: c.context };
  };
  const hyper = { zeroGradients: true, update: true, lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-7, weightDecay: 0.1, clip: 1 };
  const losses = [];
  let timed = 0;
  for (let s = 0; s < warmup + steps; s++) {
    const b = batch();
    const t0 = performance.now();
    const r = await model.native.step([b], hyper);
    if (s >= warmup) timed += (performance.now() - t0) / 1000;
    losses.push(r.lossSum / r.supervised);
  }
  const tokensPerS = (n * steps) / timed;
  const tflops = (model.flopsPerToken(c.context) * tokensPerS) / 1e12;
  const peak = cudaPeakTflops(cuda.devices[0], precision);
  console.log(JSON.stringify({
    bench: 'train', device: 'cuda', metric: 'tokens_per_s', value: Math.round(tokensPerS), unit: 'tokens/s',
    config: `L${c.layers} d${c.dim} h${c.heads} V${c.vocab} T${c.context} B${c.batch}`, precision,
    params: model.parameterCount().total, tokens_per_s: Math.round(tokensPerS), tflops: round(tflops, 2),
    peak_tflops: peak === null ? null : round(peak, 1), mfu: peak === null ? null : round(tflops / peak, 3),
    step_ms: round((1000 * timed) / steps, 1), loss_first: round(losses[0], 4), loss_last: round(losses[losses.length - 1], 4),
    gpu: cuda.devices[0].name,
  }));
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
