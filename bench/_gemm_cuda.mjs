// `npm run bench -- gemm --device cuda [--m M --n N --k K] [--precision fp32|tf32|bf16|all]
// [--kernel auto|simple|tiled|all] [--reps R]`: our device GEMMs, timed on device-resident
// operands with CUDA events, each shape and kernel first validated against float64 on sampled
// elements (through the test hooks, with transfers not timed). Default shapes: square
// 1024..4096 and the GPT-2 124M linear layers (N = 8192 rows). Kernels (default all): 'simple'
// (64 x 64 tiles; the only one for fp32) and 'tiled' (128 x 128 x 32 tensor cores, bf16 / tf32);
// 'auto' is what the models call. One JSON line per shape, precision and kernel:
// {bench:'gemm', device:'cuda', metric:'tflops', value, unit, shape, m, n, k, precision, kernel,
// tflops, peak_tflops, mfu, max_error, gpu}; mfu is against the precision's tensor-core peak
// (fp32: the FMA peak).
import { cudaBackend, native } from '../dist/native.js';
import { cudaPeakTflops } from './_cuda_peak.mjs';

function shapes(options) {
  if (options.m !== undefined) return [{ name: 'custom', m: options.m, n: options.n ?? options.m, k: options.k ?? options.m, transA: false, transB: false }];
  const s = (name, m, n, k, transA, transB) => ({ name, m, n, k, transA, transB });
  const N = 8192, C = 768, H = 3072;
  return [
    ...[1024, 2048, 4096].map((d) => s(`square ${d}`, d, d, d, false, false)),
    s('qkv', N, 3 * C, C, false, true),
    s('fc', N, H, C, false, true),
    s('fc proj dx', N, H, C, false, false),
    s('fc dW', H, C, N, true, false),
    s('lm head', N, 50257, C, false, true),
  ];
}

// Runs the shape once through the test hooks and returns the worst |error| / sqrt(K) over 256
// sampled elements (against float64).
function validate(shape, precision, kernel) {
  const { m, n, k, transA, transB } = shape;
  if (m * k + k * n + m * n > 3 * 4096 * 4096) return null; // too large to move through the host quickly
  const A = Float32Array.from({ length: m * k }, () => Math.random() * 2 - 1);
  const B = Float32Array.from({ length: k * n }, () => Math.random() * 2 - 1);
  const C = new Float32Array(m * n);
  native._cudaOps.gemm(transA, transB, m, n, k, 1, A, transA ? m : k, B, transB ? k : n, 0, C, n, precision, kernel);
  let worst = 0;
  for (let s = 0; s < 256; s++) {
    const i = Math.floor(Math.random() * m), j = Math.floor(Math.random() * n);
    let ref = 0;
    for (let p = 0; p < k; p++) ref += (transA ? A[p * m + i] : A[i * k + p]) * (transB ? B[j * k + p] : B[p * n + j]);
    worst = Math.max(worst, Math.abs(C[i * n + j] - ref) / Math.sqrt(k));
  }
  const limit = { fp32: 2e-5, tf32: 4e-3, bf16: 3e-2 }[precision];
  if (!(worst <= limit)) throw new Error(`gemm ${shape.name} ${precision} ${kernel}: error ${worst}·√K exceeds ${limit}·√K; not timing a wrong kernel`);
  return worst;
}

export async function runCudaGemm(options) {
  const cuda = cudaBackend();
  if (!cuda.available) throw new Error(`--device cuda: CUDA is not available: ${cuda.reason}`);
  const device = cuda.devices[0];
  const precisions = !options.precision || options.precision === 'all' ? ['fp32', 'tf32', 'bf16'] : [options.precision];
  const reps = options.reps ?? 10;
  // the tiled kernel has no fp32 form: fp32 always runs the simple one
  const kernels = (precision) => {
    if (precision === 'fp32') return options.kernel === 'tiled' ? [] : ['simple'];
    return options.kernel && options.kernel !== 'all' ? [options.kernel] : ['simple', 'tiled'];
  };
  for (const shape of shapes(options))
    for (const precision of precisions)
      for (const kernel of kernels(precision)) {
        const maxError = validate(shape, precision, kernel);
        const seconds = native._cudaOps.gemmTime(shape.transA, shape.transB, shape.m, shape.n, shape.k, precision, reps, kernel);
        const tflops = (2 * shape.m * shape.n * shape.k) / seconds / 1e12;
        const peak = cudaPeakTflops(device, precision);
        console.log(JSON.stringify({
          bench: 'gemm', device: 'cuda', metric: 'tflops', value: round(tflops, 2), unit: 'TFLOP/s', shape: shape.name,
          m: shape.m, n: shape.n, k: shape.k, transA: shape.transA, transB: shape.transB, precision, kernel, tflops: round(tflops, 2),
          peak_tflops: peak === null ? null : round(peak, 1), mfu: peak === null ? null : round(tflops / peak, 3),
          max_error: maxError, gpu: device.name,
        }));
      }
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
