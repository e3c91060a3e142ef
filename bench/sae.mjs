// SAE encode throughput as a fraction of the machine's fp32 GEMM peak measured in the same run
// (bench/_peak.mjs), for all latents and for a selected subset (gathered encoder columns, one
// GEMM), and SAE training throughput (tokens/s, TopK and JumpReLU). Encodings are validated
// against a float64 reference on a few rows before timing.
//   npm run bench -- sae [--threads T] [--tokens N] [--d-model D] [--latents L] [--selected S] [--clock cpu]
// On a busy machine, `--threads 1 --clock cpu` times the encodes, the training and the GEMM peak
// in process CPU time, which other processes' load does not inflate.
// Prints JSON lines {bench: 'sae', metric, value, unit, ...}. `--device cuda` times the encoder on
// the GPU instead (bench/_sae_cuda.mjs).
import { backendInfo, setThreads } from '../dist/native.js';
import { SparseAutoencoder } from '../dist/label/sae.js';
import { trainSae } from '../dist/label/train_sae.js';
import { cpuClockPeakGflops, gemmPeakGflops } from './_peak.mjs';
import { runCudaSae } from './_sae_cuda.mjs';
import { randomArray } from './_random.mjs';

const clocks = {
  wall: () => Number(process.hrtime.bigint()) / 1e9,
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  },
};

async function best(fn, repeats, now) {
  await fn();
  let t = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = now();
    await fn();
    t = Math.min(t, now() - start);
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
  if (options.device === 'cuda') return runCudaSae(options); // bench/_sae_cuda.mjs
  const threads = options.threads ?? backendInfo().threads;
  const T = options.tokens ?? 4096;
  const D = options.dModel ?? options['d-model'] ?? 512;
  const L = options.latents ?? 8192;
  const Ssel = options.selected ?? 512;
  const clock = options.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'cpu') throw new RangeError(`--clock must be wall or cpu, got ${clock}`);
  if (clock === 'cpu' && threads !== 1) throw new RangeError('--clock cpu needs --threads 1 (CPU time adds up over threads)');
  const now = clocks[clock];
  const before = backendInfo().threads;
  setThreads(threads);
  try {
    const peak = clock === 'cpu' ? await cpuClockPeakGflops() : await gemmPeakGflops({ threads });
    const emit = (o) => console.log(JSON.stringify({ bench: 'sae', threads, clock, simd: backendInfo().simd, peak_gflops: +peak.gflops.toFixed(1), peak_source: peak.source, ...o }));
    const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind: 'jumprelu', seed: 1, initialThreshold: 0.01 });
    const x = randomArray(T * D, 7);
    const all = Array.from({ length: L }, (_, i) => i);
    const selected = Array.from({ length: Ssel }, (_, i) => (i * 7919) % L);
    for (const [name, latents] of [['encode_all', all], ['encode_selected', selected]]) {
      const encoder = sae.encoderFor(latents);
      const out = new Float32Array(T * latents.length);
      validate(sae, x, await sae.encode(x, encoder, out), latents);
      // streaming use: one output buffer reused block after block (the `out` argument), and
      // for comparison a fresh output array per call (page faults and zeroing included)
      for (const [suffix, fn] of [['', () => sae.encode(x, encoder, out)], ['_fresh_output', () => sae.encode(x, encoder)]]) {
        const seconds = await best(fn, 5, now);
        const gflops = (2 * T * D * latents.length) / seconds / 1e9;
        emit({ metric: name + suffix, value: +(gflops / peak.gflops).toFixed(3), unit: 'fraction of GEMM peak', gflops: +gflops.toFixed(1), tokens: T, d_model: D, latents: latents.length, tokens_per_s: Math.round(T / seconds) });
      }
    }
    for (const kind of ['topk', 'jumprelu']) {
      const trainer = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 32, seed: 2 });
      const N = 1024;
      const steps = 6;
      const batches = Array.from({ length: steps }, (_, i) => randomArray(N * D, 100 + i));
      const t0 = now();
      const summary = await trainSae(trainer, batches, { steps });
      const tokensPerSecond = clock === 'cpu' ? (N * steps) / (now() - t0) : summary.tokensPerSecond;
      emit({ metric: `train_${kind}`, value: Math.round(tokensPerSecond), unit: 'tokens/s', batch: N, d_model: D, latents: L, steps });
    }
  } finally {
    setThreads(before);
  }
}

