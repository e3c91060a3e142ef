// Training throughput, model-FLOPs utilization and peak memory of trainMasked.
//   npm run bench -- train [--layers L --dim C --heads NH --vocab V --context T --batch B]
//                          [--steps S] [--warmup W] [--threads N] [--profile] [--clock cpu]
// With no shape options it runs the two configurations of issue 2: (a) 4 layers, d = 256,
// 4 heads, vocab 8192 and (b) 12 layers, d = 768, 12 heads, vocab 50257, both T = 256, B = 4.
// Each configuration trains in a child process (random tokens, all targets supervised) so its
// peak RSS (VmHWM) is its own. MFU = flopsPerToken (6·N_matmul + causal attention 6·L·T·C)
// × tokens/s over the fp32 GEMM peak measured in the same run (bench/_peak.mjs; before and
// after the training, the higher value kept). On a busy machine `--threads 1 --clock cpu`
// measures both the training and the peak in process CPU time, which other processes do not
// inflate (MFU then uses tokens per CPU-second).
// One JSON line per configuration: {bench: 'train', config, tokens_per_s, mfu, params,
// peak_rss_bytes, theoretical_min_bytes, rss_ratio, ...}; --profile adds milliseconds per step
// by op kind. `--device cuda` trains on the GPU instead (bench/_train_cuda.mjs).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cpuClockPeakGflops, gemmPeakGflops } from './_peak.mjs';
import { runCudaTrain } from './_train_cuda.mjs';

const child = join(fileURLToPath(import.meta.url), '..', '_train_child.mjs');

const PRESETS = [
  { name: 'a', layers: 4, dim: 256, heads: 4, vocab: 8192, context: 256, batch: 4 },
  { name: 'b', layers: 12, dim: 768, heads: 12, vocab: 50257, context: 256, batch: 4 },
];
const SHAPE_KEYS = ['layers', 'dim', 'heads', 'vocab', 'context', 'batch'];
const KNOWN = new Set([...SHAPE_KEYS, 'steps', 'warmup', 'threads', 'profile', 'clock']);

function positiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer, got ${value}`);
  return value;
}

export async function run(options = {}) {
  if (options.device === 'cuda') {
    const { device, ...rest } = options; // bench/_train_cuda.mjs (GPT-2 124M shape by default)
    return runCudaTrain(rest);
  }
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new TypeError(`unknown option --${key}`);
  const custom = SHAPE_KEYS.some((k) => k in options);
  const configs = custom ? [{ ...PRESETS[0], ...options, name: 'custom' }] : PRESETS;
  const threads = options.threads === undefined ? undefined : positiveInteger(options.threads, 'threads');
  const clock = options.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'cpu') throw new RangeError(`--clock must be wall or cpu, got ${clock}`);
  if (clock === 'cpu' && threads !== 1) throw new RangeError('--clock cpu needs --threads 1 (CPU time only measures compute on one thread)');
  for (const preset of configs) {
    const config = {
      layers: positiveInteger(preset.layers, 'layers'),
      dim: positiveInteger(preset.dim, 'dim'),
      heads: positiveInteger(preset.heads, 'heads'),
      vocab: positiveInteger(preset.vocab, 'vocab'),
      context: positiveInteger(preset.context, 'context'),
      batch: positiveInteger(preset.batch, 'batch'),
    };
    const steps = positiveInteger(options.steps ?? (config.dim >= 768 ? 5 : 20), 'steps');
    const warmup = options.warmup === undefined ? 2 : Math.max(0, Math.floor(options.warmup));
    // The peak is measured before and after the training child and the higher value kept: on a
    // shared machine a single measurement can land in a busy moment and inflate the MFU.
    const measurePeak = () => (clock === 'cpu' ? cpuClockPeakGflops() : gemmPeakGflops({ threads }));
    const before = await measurePeak();
    const out = execFileSync(process.execPath, [child, JSON.stringify({ ...config, steps, warmup, threads, profile: options.profile === true })], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    const after = await measurePeak();
    const peak = before.gflops >= after.gflops ? before : after;
    const tokensPerSecond = clock === 'cpu' ? r.tokens_per_cpu_s : r.tokens_per_s;
    const achieved = (r.flops_per_token * tokensPerSecond) / 1e9;
    const spread = Math.max(before.gflops, after.gflops) / Math.min(before.gflops, after.gflops) - 1;
    const unreliable = achieved / peak.gflops > 0.95 || spread > 0.2;
    console.log(JSON.stringify({
      bench: 'train',
      metric: 'mfu',
      value: achieved / peak.gflops,
      unit: 'fraction',
      config: preset.name,
      ...config,
      steps,
      clock,
      tokens_per_s: r.tokens_per_s,
      tokens_per_cpu_s: r.tokens_per_cpu_s,
      step_ms_median: r.step_ms_median,
      model_gflops: achieved,
      mfu: achieved / peak.gflops,
      peak_gflops: peak.gflops,
      peak_source: peak.source,
      peak_gflops_before_after: [before.gflops, after.gflops],
      params: r.params,
      non_embedding_params: r.non_embedding_params,
      peak_rss_bytes: r.peak_rss_bytes,
      baseline_rss_bytes: r.baseline_rss_bytes,
      js_heap_total_bytes: r.js_heap_total_bytes,
      theoretical_min_bytes: r.theoretical_min_bytes,
      rss_ratio: r.peak_rss_bytes / r.theoretical_min_bytes,
      rss_ratio_above_baseline: (r.peak_rss_bytes - r.baseline_rss_bytes) / r.theoretical_min_bytes,
      threads: r.threads,
      simd: r.simd,
      ...(r.profile_ms_per_step ? { profile_ms_per_step: r.profile_ms_per_step } : {}),
      ...(unreliable
        ? { note: 'GEMM peak unstable or MFU near 1: the machine is busy; rerun with --threads 1 --clock cpu' }
        : {}),
    }));
  }
}
