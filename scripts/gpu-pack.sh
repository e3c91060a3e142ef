#!/usr/bin/env bash
# Prepares .gpu-pack/ for a GPU machine that has nvcc and CMake but no Node.js (such as a
# lent, offline device machine): the node binary running here and the node_modules that the
# build, the parity suite and the benchmarks need, xz-compressed (typescript, typedoc and its
# highlighter stay behind: carry the compiled dist/ instead). scripts/gpu-check.sh unpacks it
# when `node` is missing. Carry both: .gpu-pack and dist (run `npm run build:ts` first).
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin=$(readlink -f "$(command -v node)")
mkdir -p .gpu-pack
rm -f .gpu-pack/*.tar.xz
tar -C "$(dirname "$node_bin")" -cf - "$(basename "$node_bin")" | xz -6 -T2 >.gpu-pack/node.tar.xz
tar -cf - --exclude=node_modules/typescript --exclude=node_modules/typedoc --exclude=node_modules/@shikijs \
  --exclude=node_modules/.cache node_modules | xz -6 -T2 >.gpu-pack/node_modules.tar.xz
du -sh .gpu-pack/*.tar.xz
