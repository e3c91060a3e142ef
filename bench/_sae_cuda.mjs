// `npm run bench -- sae --device cuda [--tokens N] [--d-model D] [--latents L] [--selected S]
// [--precision fp32|tf32|bf16|all] [--reps R]`: SparseAutoencoder.encode on the GPU (toDevice):
// every latent of a JumpReLU and of a TopK SAE (k 32), and a selected subset; each validated
// against the CPU encoder on sampled entries before timing. Timed per call from host array to
// host array (upload, GEMM + epilogue (+ TopK), download), so it is what `tokenfilter label`
// sees, not the GEMM alone. One JSON line per case and precision: {bench:'sae', device:'cuda',
// metric, value (tokens/s), tflops (encoder GEMM FLOPs / s), peak_tflops, mfu, gpu, ...}.
import { cudaBackend } from '../dist/native.js';
import { SparseAutoencoder } from '../dist/label/sae.js';
import { cudaPeakTflops } from './_cuda_peak.mjs';
import { randomArray } from './_random.mjs';

// worst |gpu - cpu| over every 97th entry, against the limit for the precision (inputs in [-0.5, 0.5))
function check(cpu, gpu, D, precision, name) {
  const limit = { fp32: 1e-4, tf32: 2e-2, bf16: 1e-1 }[precision] * Math.sqrt(D) * 0.1;
  let worst = 0, mismatched = 0, seen = 0;
  for (let i = 0; i < cpu.length; i += 97, seen++) {
    if ((cpu[i] === 0) !== (gpu[i] === 0)) mismatched++; // a value at its threshold / the k-th
    else worst = Math.max(worst, Math.abs(cpu[i] - gpu[i]));
  }
  if (!(worst <= limit) || mismatched > 0.01 * seen) throw new Error(`sae ${name} ${precision}: error ${worst} (limit ${limit}), ${mismatched} of ${seen} differ in sign; not timing a wrong encoder`);
  return worst;
}

export async function runCudaSae(options) {
  const cuda = cudaBackend();
  if (!cuda.available) throw new Error(`--device cuda: CUDA is not available: ${cuda.reason}`);
  const T = options.tokens ?? 8192, D = options.dModel ?? options['d-model'] ?? 768, L = options.latents ?? 16384;
  const Ssel = options.selected ?? 512, reps = options.reps ?? 5;
  const precisions = !options.precision || options.precision === 'all' ? ['fp32', 'bf16'] : [options.precision];
  const x = randomArray(T * D, 7);
  for (const kind of ['jumprelu', 'topk']) {
    const sae = SparseAutoencoder.create({ dModel: D, dSae: L, kind, k: 32, seed: 1, initialThreshold: 0.01 });
    const cases = [['encode_all', undefined, L]];
    if (kind === 'jumprelu') cases.push(['encode_selected', sae.encoderFor(Array.from({ length: Ssel }, (_, i) => (i * 7919) % L)), Ssel]);
    for (const [name, encoder, S] of cases) {
      const cpu = await sae.toDevice({ device: 'cpu' }).encode(x, encoder);
      for (const precision of precisions) {
        sae.toDevice({ device: 'cuda', precision });
        const out = new Float32Array(T * S);
        const maxError = check(cpu, await sae.encode(x, encoder, out), D, precision, `${kind} ${name}`);
        let seconds = Infinity;
        for (let r = 0; r < reps; r++) {
          const t0 = performance.now();
          await sae.encode(x, encoder, out);
          seconds = Math.min(seconds, (performance.now() - t0) / 1000);
        }
        const tflops = (2 * T * D * S) / seconds / 1e12, peak = cudaPeakTflops(cuda.devices[0], precision);
        console.log(JSON.stringify({
          bench: 'sae', device: 'cuda', metric: `${kind}_${name}`, value: Math.round(T / seconds), unit: 'tokens/s', precision,
          tokens: T, d_model: D, latents: S, tflops: +tflops.toFixed(2), peak_tflops: peak === null ? null : +peak.toFixed(1),
          mfu: peak === null ? null : +(tflops / peak).toFixed(3), max_error: maxError, gpu: cuda.devices[0].name,
        }));
      }
    }
    sae.parametersChanged();
  }
}
