// Times each transformer op at the training shapes (default d=768, T=256, B=4, NH=12,
// V=50257, MLP width 4d) and prints one JSON line per op: milliseconds per call and the
// achieved GB/s (memory-bound ops) or GFLOP/s (attention). Each op's output is validated
// (finite, and cross-entropy of uniform logits equals log V) before it is timed. Besides the
// wall time per call (value, ms) each line carries cpuMs, the process CPU time per call summed
// over threads: on a shared machine it is the steadier figure (wall ~ cpuMs / threads when the
// cores are free).
// Options: --B --T --C --NH --V --threads --simd scalar|avx2|avx512 --adamwN --seconds
import { backendInfo, native, setSimdLevel, setThreads } from '../dist/native.js';

const ops = native._ops;

function fill(n, rand, scale = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() - 0.5) * 2 * scale;
  return a;
}

let lastCpuMs = 0;

// Wall milliseconds per call (returned) and CPU milliseconds per call (lastCpuMs).
function timeIt(fn, seconds) {
  fn();
  let reps = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < seconds || reps < 3) {
    fn();
    reps++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuStart);
  lastCpuMs = (cpu.user + cpu.system) / 1e3 / reps;
  return (elapsed / reps) * 1e3;
}

function check(ok, what) {
  if (!ok) throw new Error(`bench ops: ${what} failed validation`);
}

const allFinite = (a) => a.every(Number.isFinite);

export async function run(options = {}) {
  const B = options.B ?? 4, T = options.T ?? 256, C = options.C ?? 768, NH = options.NH ?? 12, V = options.V ?? 50257;
  const seconds = options.seconds ?? 0.5;
  const adamwN = options.adamwN ?? 16_000_000;
  if (options.threads) setThreads(options.threads);
  if (options.simd) setSimdLevel(options.simd);
  const info = backendInfo();
  const N = B * T, H = 4 * C, hs = C / NH;
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const common = { B, T, C, NH, V, simd: info.simd, threads: info.threads };
  const report = (op, ms, extra) =>
    console.log(JSON.stringify({ bench: 'ops', metric: op, value: Number(ms.toFixed(4)), unit: 'ms', cpuMs: Number(lastCpuMs.toFixed(4)), ...extra, ...common }));
  const gbs = (bytes, ms) => ({ GBps: Number((bytes / ms / 1e6).toFixed(2)) });
  const gflops = (flops, ms) => ({ GFLOPps: Number((flops / ms / 1e6).toFixed(2)) });

  // embedding
  const wte = fill(V * C, rand);
  const tokens = Uint32Array.from({ length: N }, () => Math.floor(rand() * V));
  const x = new Float32Array(N * C);
  ops.embeddingForward(x, tokens, wte, N, C, V);
  check(allFinite(x), 'embeddingForward');
  let ms = timeIt(() => ops.embeddingForward(x, tokens, wte, N, C, V), seconds);
  report('embeddingForward', ms, gbs(8 * N * C, ms));
  const dwte = new Float32Array(V * C);
  ms = timeIt(() => ops.embeddingBackward(dwte, x, tokens, N, C, V), seconds);
  report('embeddingBackward', ms, gbs(12 * N * C, ms));

  // rmsnorm
  const w = fill(C, rand);
  const y = new Float32Array(N * C), rstd = new Float32Array(N);
  ops.rmsnormForward(y, rstd, x, w, N, C, 1e-5);
  check(allFinite(y), 'rmsnormForward');
  ms = timeIt(() => ops.rmsnormForward(y, rstd, x, w, N, C, 1e-5), seconds);
  report('rmsnormForward', ms, gbs(8 * N * C, ms));
  const dx = new Float32Array(N * C), dw = new Float32Array(C);
  ms = timeIt(() => ops.rmsnormBackward(dx, dw, y, x, w, rstd, N, C), seconds);
  report('rmsnormBackward', ms, gbs(16 * N * C, ms));

  // rope on the q part of a fused qkv buffer
  const qkv = fill(N * 3 * C, rand);
  ms = timeIt(() => ops.ropeForward(qkv, B, T, NH, hs, 3 * C, 10000), seconds);
  report('ropeForward', ms, gbs(8 * N * C, ms));
  ms = timeIt(() => ops.ropeBackward(qkv, B, T, NH, hs, 3 * C, 10000), seconds);
  report('ropeBackward', ms, gbs(8 * N * C, ms));

  // attention: causal, 2 * T * (T + 1) * hs flops per head forward, 2.5x that backward
  const att = new Float32Array(N * C), lse = new Float32Array(B * NH * T);
  ops.attentionForward(att, lse, qkv, B, T, C, NH);
  check(allFinite(att) && allFinite(lse), 'attentionForward');
  const attFlops = 2 * B * NH * T * (T + 1) * hs;
  ms = timeIt(() => ops.attentionForward(att, lse, qkv, B, T, C, NH), seconds);
  report('attentionForward', ms, gflops(attFlops, ms));
  const dqkv = new Float32Array(N * 3 * C);
  ops.attentionBackward(dqkv, x, qkv, att, lse, B, T, C, NH);
  check(allFinite(dqkv), 'attentionBackward');
  ms = timeIt(() => ops.attentionBackward(dqkv, x, qkv, att, lse, B, T, C, NH), seconds);
  report('attentionBackward', ms, gflops(2.5 * attFlops, ms));

  // relu2 over the MLP hidden activations [N, 4C]
  const h = fill(N * H, rand), hout = new Float32Array(N * H), dh = new Float32Array(N * H);
  ms = timeIt(() => ops.relu2Forward(hout, h, N * H), seconds);
  report('relu2Forward', ms, gbs(8 * N * H, ms));
  ms = timeIt(() => ops.relu2Backward(dh, hout, h, N * H), seconds);
  report('relu2Backward', ms, gbs(12 * N * H, ms));

  // cross-entropy over [N, V] logits; uniform logits give loss log V per row
  const logits = new Float32Array(N * V);
  const targets = Uint32Array.from({ length: N }, () => Math.floor(rand() * V));
  const mask = Uint8Array.from({ length: N }, () => (rand() < 0.9 ? 1 : 0));
  const uniformLoss = ops.crossEntropyForward(null, logits, targets, null, N, V);
  check(Math.abs(uniformLoss / N - Math.log(V)) < 1e-4, 'crossEntropyForward');
  const logitsInit = fill(N * V, rand, 5);
  logits.set(logitsInit);
  ms = timeIt(() => ops.crossEntropyForward(null, logits, targets, mask, N, V), seconds);
  report('crossEntropyForward', ms, gbs(4 * N * V, ms));
  ms = timeIt(() => {
    logits.set(logitsInit);
    ops.crossEntropyForwardBackward(logits, null, targets, mask, N, V, 1 / N);
  }, seconds);
  const cpuWithCopy = lastCpuMs;
  const copyMs = timeIt(() => logits.set(logitsInit), seconds);
  lastCpuMs = cpuWithCopy - lastCpuMs;
  report('crossEntropyForwardBackward', ms - copyMs, gbs(8 * N * V, ms - copyMs));

  // adamw over a flat parameter block, and the gradient norm
  const params = fill(adamwN, rand), grads = fill(adamwN, rand), m = new Float32Array(adamwN), v = new Float32Array(adamwN);
  let step = 1;
  ms = timeIt(() => ops.adamwUpdate(params, grads, m, v, adamwN, 1e-3, 0.9, 0.95, 1e-8, 0.1, step++, 1), seconds);
  check(allFinite(params.subarray(0, 1000)), 'adamwUpdate');
  report('adamwUpdate', ms, { n: adamwN, ...gbs(28 * adamwN, ms) });
  ms = timeIt(() => ops.sumOfSquares(grads), seconds);
  report('sumOfSquares', ms, { n: adamwN, ...gbs(4 * adamwN, ms) });
}
