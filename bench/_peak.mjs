// The machine's fp32 GEMM peak, measured now: the denominator of model-FLOPs utilization (MFU)
// in the training benchmark.
import { setThreads, backendInfo } from '../dist/native.js';
import { startNumpy } from './_numpy.mjs';
import { gemmOperands, timeGemm } from './_gemm_timer.mjs';

/**
 * Best-of-N GFLOP/s of a square n = 2048 float32 GEMM on `threads` threads (default: the
 * native pool's current size). Uses numpy (OpenBLAS sgemm) when python3 + numpy are available,
 * else tokenfilter's own GEMM. Leaves the native thread count as it found it.
 * @returns {Promise<{gflops: number, source: 'numpy' | 'tokenfilter', n: number}>}
 */
export async function gemmPeakGflops({ threads } = {}) {
  const before = backendInfo().threads;
  const t = threads ?? before;
  const n = 2048;
  const shape = { m: n, n, k: n, transA: false, transB: false };
  const flops = 2 * n * n * n;
  const repeats = 8;
  const numpy = await startNumpy({ threads: t });
  if (numpy) {
    try {
      await numpy.time(shape, 1);
      return { gflops: flops / (await numpy.time(shape, repeats)) / 1e9, source: 'numpy', n };
    } finally {
      numpy.close();
    }
  }
  setThreads(t);
  try {
    const operands = gemmOperands(shape);
    timeGemm(shape, operands, 1);
    return { gflops: flops / timeGemm(shape, operands, repeats) / 1e9, source: 'tokenfilter', n };
  } finally {
    setThreads(before);
  }
}

// Single-thread GEMM peak in process CPU time (for --clock cpu): numpy when available, else
// tokenfilter's GEMM; square n = 2048, best of 8.
export async function cpuClockPeakGflops() {
  const n = 2048;
  const shape = { m: n, n, k: n, transA: false, transB: false };
  const flops = 2 * n * n * n;
  const numpy = await startNumpy({ threads: 1 });
  if (numpy) {
    try {
      await numpy.time(shape, 1, 'cpu');
      return { gflops: flops / (await numpy.time(shape, 8, 'cpu')) / 1e9, source: 'numpy', n };
    } finally {
      numpy.close();
    }
  }
  const operands = gemmOperands(shape);
  timeGemm(shape, operands, 1, 'cpu');
  return { gflops: flops / timeGemm(shape, operands, 8, 'cpu') / 1e9, source: 'tokenfilter', n };
}
