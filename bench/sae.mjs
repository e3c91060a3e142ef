// SAE encode throughput as a fraction of the machine's fp32 GEMM peak measured in the same run
// (bench/_peak.mjs), for all latents and for a selected subset (gathered encoder columns, one
// GEMM), and SAE training throughput (tokens/s, TopK and JumpReLU). Encodings are validated
// against a float64 reference on a few rows before timing.
//   npm run bench -- sae [--threads T] [--tokens N] [--d-model D] [--latents L] [--selected S]
// Prints JSON lines {bench: 'sae', metric, value, unit, ...}.
import { backendInfo, setThreads } from '../dist/native.js';
import { SparseAutoencoder } from '../dist/label/sae.js';
import { trainSae } from '../dist/label/train_sae.js';
import { gemmPeakGflops } from './_peak.mjs';

function randomArray(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

async function best(fn, repeats) {
  await fn();
  let t = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    await fn();
    t = Math.min(t, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return t;
}

function validate(sae, x, f, latents) {
  const { dModel: D, dSae: L } = sae.config;
  const lay = sae.layout;
  const S = latents.length;
  for (const t of [0, 1, Math.floor(x.length / D) - 1])
    for (const [s, l] of latents.entries()) {
      let pre = sae.parameters[lay.bEnc + l];
      for (let d = 0; d < D; d++) pre += sae.inputScale * x[t * D + d] * sae.parameters[lay.wEnc + d * L + l];
      const ref = pre > sae.parameters[lay.threshold + l] ? pre : 0;
      if (Math.abs(f[t * S + s] - ref) > 1e-3 * (1 + Math.abs(ref))) throw new Error(`encode mismatch at token ${t} latent ${l}: ${f[t * S + s]} vs ${ref}`);
    }
}

export async function run(options = {}) {
  const threads = options.threads ?? backendInfo().threads;
  const T = options.tokens ?? 4096;
  const D = options.dModel ?? options['d-model'] ?? 512;
  const L = options.latents ?? 8192;
  const Ssel = options.selected ?? 512;
  const before = backendInfo().threads;
  setThreads(threads);
  try {
    const peak = await gemmPeakGflops({ threads });
    const emit = (o) => console.log(JSON.stringify({ bench: 'sae', threads, simd: backendInfo().simd, peak_gflops: +peak.gflops.toFixed(1), peak_source: peak.source, ...o }));
    const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind: 'jumprelu', seed: 1, initialThreshold: 0.01 });
    const x = randomArray(T * D, 7);
    const all = Array.from({ length: L }, (_, i) => i);
    const selected = Array.from({ length: Ssel }, (_, i) => (i * 7919) % L);
    for (const [name, latents] of [['encode_all', all], ['encode_selected', selected]]) {
      const encoder = sae.encoderFor(latents);
      validate(sae, x, await sae.encode(x, encoder), latents);
      const seconds = await best(() => sae.encode(x, encoder), 5);
      const gflops = (2 * T * D * latents.length) / seconds / 1e9;
      emit({ metric: name, value: +(gflops / peak.gflops).toFixed(3), unit: 'fraction of GEMM peak', gflops: +gflops.toFixed(1), tokens: T, d_model: D, latents: latents.length, tokens_per_s: Math.round(T / seconds) });
    }
    for (const kind of ['topk', 'jumprelu']) {
      const trainer = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 32, seed: 2 });
      const N = 1024;
      const steps = 6;
      const batches = Array.from({ length: steps }, (_, i) => randomArray(N * D, 100 + i));
      const summary = await trainSae(trainer, batches, { steps });
      emit({ metric: `train_${kind}`, value: Math.round(summary.tokensPerSecond), unit: 'tokens/s', batch: N, d_model: D, latents: L, steps });
    }
  } finally {
    setThreads(before);
  }
}

