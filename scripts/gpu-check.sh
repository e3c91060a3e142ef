#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU (sm_80 / sm_90) and nvcc: builds the addon
# and tokenfilter_cuda.so, checks that CUDA is available, runs the CUDA parity suite
# (test/cuda/: ops, both GEMM kernels, the transformer, SAE encoding, biLM features and token
# scores; plus the device-selection tests), the GEMM and training benchmarks on the GPU, and
# prints one summary (also written to $OUT/gpu-check.json and the logs to $OUT/).
#   scripts/gpu-check.sh            # needs node >= 20 and node_modules (npm ci) in the checkout,
#                                   # or .gpu-pack/ from scripts/gpu-pack.sh plus a built dist/
#   DRY_RUN=1 scripts/gpu-check.sh  # where no GPU is: builds, runs the suite (which reports
#                                   # itself skipped, with the reason), skips the benches; exit 0
# Expected wall time on an H100 with 16 cores (estimated, not yet measured): build 1-2 min,
# parity 1-2 min, GEMM bench 1-1.5 min, training bench 1-2 min, SAE encode bench < 1 min. Every step has its own time
# limit and the whole run a deadline (BUDGET_S, default 470 s: each step's limit is cut to what
# is left), so a hung step cannot take the run past 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/tokenfilter-gpu-check}"
mkdir -p "$OUT"
rm -f "$OUT/steps.tsv"
export TOKENFILTER_CUDA=1 TOKENFILTER_THREADS="${TOKENFILTER_THREADS:-$(nproc)}"
JOBS="${JOBS:-$(nproc)}"
DRY_RUN="${DRY_RUN:-0}"
export PATH="$PATH:/usr/local/cuda/bin"  # nvcc where CUDA images keep it

# No Node.js here: unpack the one scripts/gpu-pack.sh packed (and its node_modules).
if ! command -v node >/dev/null 2>&1; then
  [ -f .gpu-pack/node.tar.xz ] || { echo "no node and no .gpu-pack/ (run scripts/gpu-pack.sh where node is)"; exit 1; }
  mkdir -p /tmp/tokenfilter-node/bin
  tar -C /tmp/tokenfilter-node/bin -xJf .gpu-pack/node.tar.xz
  export PATH="/tmp/tokenfilter-node/bin:$PATH"
  [ -d node_modules ] || tar -xJf .gpu-pack/node_modules.tar.xz
fi
node --version
started=$(date +%s)
deadline=$((started + ${BUDGET_S:-470}))
declare -A status seconds

# step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit (cut to what is left of the
# deadline), output to $OUT/NAME.log
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s)
  local left=$((deadline - t0))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    status[$name]="skipped (out of time)"
    seconds[$name]=0
    printf '%s\t%s\t%s\n' "$name" "${status[$name]}" 0 >>"$OUT/steps.tsv"
    echo "-- $name: ${status[$name]}"
    return 1
  fi
  echo "== $name (limit ${limit}s)"
  timeout "$limit" bash -c '"$@"' step "$@" >"$OUT/$name.log" 2>&1  # bash: runs exported functions too
  local rc=$?
  seconds[$name]=$(($(date +%s) - t0))
  status[$name]=$([ $rc -eq 0 ] && echo ok || echo "failed (exit $rc)")
  printf '%s\t%s\t%s\n' "$name" "${status[$name]}" "${seconds[$name]}" >>"$OUT/steps.tsv"
  tail -n 25 "$OUT/$name.log"
  echo "-- $name: ${status[$name]} in ${seconds[$name]}s"
  return $rc
}

# skip NAME REASON: records a step that did not run
skip() {
  status[$1]="skipped: $2"
  seconds[$1]=0
  printf '%s\t%s\t%s\n' "$1" "${status[$1]}" 0 >>"$OUT/steps.tsv"
  echo "-- $1: ${status[$1]}"
}

build() {
  nvidia-smi -L || true
  nvcc --version | tail -1
  node node_modules/cmake-js/bin/cmake-js compile --parallel "$JOBS" || return 1
  grep -q '^built' build/cuda-backend.txt || node node_modules/cmake-js/bin/cmake-js rebuild --parallel "$JOBS" || return 1
  cat build/cuda-backend.txt
  if [ -f node_modules/typescript/bin/tsc ]; then node node_modules/typescript/bin/tsc -p tsconfig.json; else ls dist/index.js; fi
}

available() {
  node --input-type=module -e "
    const { backendInfo } = await import('./dist/native.js');
    const c = backendInfo().cuda;
    console.log(JSON.stringify(c));
    if (!c.available) { console.error('CUDA not available: ' + c.reason); process.exit(1); }
  "
}

export -f build available
export JOBS
step build 300 build || { echo "build failed: see $OUT/build.log"; exit 1; }
cuda_ok=1
step available 30 available || cuda_ok=0
if [ "$cuda_ok" = 0 ] && [ "$DRY_RUN" != 1 ]; then echo "CUDA is not usable here: see $OUT/available.log (DRY_RUN=1 runs the rest anyway)"; exit 1; fi
# the device tests (test/cuda) and the device-selection tests of the API they rely on
step parity 210 node node_modules/vitest/vitest.mjs run test/cuda test/native/cuda_loader.test.ts test/native/sae_topk.test.ts test/native/gemm_tile.test.ts \
  test/lib/device.test.ts test/lib/model/transformer_device.test.ts test/lib/classify/bilm_device.test.ts \
  test/lib/label/sae_device.test.ts test/lib/cli/device_option.test.ts --reporter=verbose
if [ "$cuda_ok" = 1 ]; then
  step bench_gemm 120 node scripts/bench.mjs gemm --device cuda --reps 10
  step bench_train 150 node scripts/bench.mjs train --device cuda
  step bench_sae 60 node scripts/bench.mjs sae --device cuda --reps 3
else
  reason=$(grep -o 'CUDA not available: .*' "$OUT/available.log" | head -1)
  skip bench_gemm "${reason:-CUDA not available}"
  skip bench_train "${reason:-CUDA not available}"
  skip bench_sae "${reason:-CUDA not available}"
fi

# ---- summary (also $OUT/gpu-check.json) ------------------------------------------------------
node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
const out = process.argv[1];
const read = (n) => { try { return readFileSync(out + '/' + n, 'utf8'); } catch { return ''; } };
const json = (n) => read(n + '.log').split('\\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const steps = Object.fromEntries(read('steps.tsv').trim().split('\\n').filter(Boolean).map((l) => {
  const [name, status, seconds] = l.split('\\t');
  return [name, { status, seconds: Number(seconds) }];
}));
const tests = read('parity.log').replace(/\\x1b\\[[0-9;]*m/g, '').match(/Tests\\s+(.*)/);
const gemm = json('bench_gemm');
const summary = {
  steps,
  seconds_total: Number(process.argv[2]),
  parity: tests ? tests[1].trim() : 'no result',
  cuda: (() => { try { return JSON.parse(read('available.log').split('\n')[0]); } catch { return null; } })(),
  gemm_4096: gemm.filter((r) => r.shape === 'square 4096').map((r) => ({ precision: r.precision, kernel: r.kernel, tflops: r.tflops, mfu: r.mfu })),
  gemm_best_bf16: gemm.filter((r) => r.precision === 'bf16').reduce((a, r) => (a && a.tflops > r.tflops ? a : r), null),
  train: json('bench_train')[0] ?? null,
  sae: json('bench_sae').map((r) => ({ metric: r.metric, precision: r.precision, tokens_per_s: r.value, tflops: r.tflops, mfu: r.mfu })),
};
writeFileSync(out + '/gpu-check.json', JSON.stringify(summary, null, 2) + '\\n');
console.log('==== gpu-check summary');
console.log(JSON.stringify(summary, null, 2));
" "$OUT" "$(($(date +%s) - started))"
[ "${status[parity]:-missing}" = ok ] || exit 1
[ "$cuda_ok" = 1 ] || { echo "dry run: CUDA not available, benches skipped"; exit 0; }
for k in bench_gemm bench_train bench_sae; do [ "${status[$k]:-missing}" = ok ] || exit 1; done
