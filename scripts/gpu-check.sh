#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU (sm_80 / sm_90) and nvcc: builds the addon
# and tokenfilter_cuda.so, checks that CUDA is available, runs the CUDA parity suite
# (test/cuda/ and the device-selection tests), the GEMM and training benchmarks on the GPU,
# and prints one summary (also written to $OUT/gpu-check.json and the logs to $OUT/).
#   scripts/gpu-check.sh            # needs node >= 20 and node_modules (npm ci) in the checkout,
#                                   # or .gpu-pack/ from scripts/gpu-pack.sh plus a built dist/
# Expected wall time on an H100 with 16 cores: about 1-2 min build, 1 min tests, 1 min benches;
# every step has its own time limit, so a hung step cannot take the whole run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/tokenfilter-gpu-check}"
mkdir -p "$OUT"
rm -f "$OUT/steps.tsv"
export TOKENFILTER_CUDA=1 TOKENFILTER_THREADS="${TOKENFILTER_THREADS:-$(nproc)}"
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
declare -A status seconds

# step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, output to $OUT/NAME.log
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s)
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

build() {
  nvidia-smi -L || true
  nvcc --version | tail -1
  node node_modules/cmake-js/bin/cmake-js compile --parallel "$(nproc)" || return 1
  grep -q '^built' build/cuda-backend.txt || node node_modules/cmake-js/bin/cmake-js rebuild --parallel "$(nproc)" || return 1
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
step build 420 build || { echo "build failed: see $OUT/build.log"; exit 1; }
step available 60 available || { echo "CUDA is not usable here: see $OUT/available.log"; exit 1; }
step parity 300 node node_modules/vitest/vitest.mjs run test/cuda test/native/cuda_loader.test.ts test/lib/device.test.ts \
  test/lib/model/transformer_device.test.ts --reporter=verbose
step bench_gemm 180 node scripts/bench.mjs gemm --device cuda --reps 20
step bench_train 240 node scripts/bench.mjs train --device cuda

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
  gemm_4096: gemm.filter((r) => r.shape === 'square 4096').map((r) => ({ precision: r.precision, tflops: r.tflops, mfu: r.mfu })),
  gemm_best_bf16: gemm.filter((r) => r.precision === 'bf16').reduce((a, r) => (a && a.tflops > r.tflops ? a : r), null),
  train: json('bench_train')[0] ?? null,
};
writeFileSync(out + '/gpu-check.json', JSON.stringify(summary, null, 2) + '\\n');
console.log('==== gpu-check summary');
console.log(JSON.stringify(summary, null, 2));
" "$OUT" "$(($(date +%s) - started))"
for k in parity bench_gemm bench_train; do [ "${status[$k]:-missing}" = ok ] || exit 1; done
