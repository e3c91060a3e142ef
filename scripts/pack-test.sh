#!/usr/bin/env bash
# tokenfilter as a dependency: `npm pack`, install the tarball into an empty project (the native
# addon compiled from source during the install, as on a platform without a prebuild), then
# type-check (tsc --noEmit, strict) and run a TypeScript program there that imports
# filterTokens and trainMasked, masks some tokens and trains two steps. Prints the time of each
# phase. Run from .ci/run (after `npm ci`); needs the npm registry or npm's cache for the
# dependencies of the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/tokenfilter-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
phase() { awk -v s="$2" -v e="$(now)" -v what="$1" 'BEGIN { printf "pack-test: %-44s %6.1f s\n", what, e - s }'; }

t=$(now)
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
phase "npm pack ($tarball)" "$t"

app="$work/app"
mkdir -p "$app/src"
cat > "$app/package.json" <<'JSON'
{ "name": "tokenfilter-pack-test", "version": "1.0.0", "private": true, "type": "module" }
JSON
cat > "$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "outDir": "dist", "types": ["node"], "skipLibCheck": false
  },
  "include": ["src"]
}
JSON
cat > "$app/src/main.ts" <<'TS'
import { Transformer, filterTokens, trainMasked, type Batch, type FilterResult, type TrainSummary } from 'tokenfilter';

const B = 2, T = 16, V = 64;
// a token stream with per-token scores: every fifth token belongs to the forget domain
const stream = Uint32Array.from({ length: B * (T + 1) * 2 }, (_, i) => (i * 7 + 3) % V);
const scores = Float32Array.from(stream, (_, i) => (i % 5 === 0 ? 0.9 : 0.1));
const filtered: FilterResult = filterTokens(stream, scores, { mode: 'mask', threshold: 0.5 });
if (filtered.stats.flaggedTokens !== Math.ceil(stream.length / 5)) throw new Error('unexpected flag count');

function window(start: number): Batch {
  const inputs = new Uint32Array(B * T), targets = new Uint32Array(B * T), lossMask = new Uint8Array(B * T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const at = start + b * (T + 1) + t;
      inputs[b * T + t] = filtered.tokens[at];
      targets[b * T + t] = filtered.tokens[at + 1];
      lossMask[b * T + t] = filtered.lossMask[at + 1];
    }
  return { inputs, targets, lossMask, batch: B, context: T };
}

const model = await Transformer.create({ vocabSize: V, dModel: 32, layers: 1, heads: 2, context: T, seed: 1 });
const summary: TrainSummary = await trainMasked(model, [window(0), window(B * (T + 1))], { lr: 1e-2 });
if (summary.steps !== 2) throw new Error(`trained ${summary.steps} steps, expected 2`);
console.log(JSON.stringify({ steps: summary.steps, flagged: filtered.stats.flaggedTokens, params: model.parameterCount().total }));
TS

t=$(now)
(cd "$app" && TOKENFILTER_BUILD_FROM_SOURCE=1 npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  "$work/$tarball" typescript@5.9 "@types/node@^20" > "$work/install.log" 2>&1) || { cat "$work/install.log"; exit 1; }
phase "npm install (addon compiled from source)" "$t"
test -f "$app/node_modules/tokenfilter/build/Release/tokenfilter.node" || { echo "pack-test: the addon was not built from source"; cat "$work/install.log"; exit 1; }

t=$(now)
(cd "$app" && npx --no-install tsc --noEmit -p . && npx --no-install tsc --noCheck -p .)
phase "tsc --noEmit (types), tsc --noCheck (emit)" "$t"

t=$(now)
out=$(cd "$app" && node dist/main.js)
phase "run (filterTokens + trainMasked, 2 steps)" "$t"
echo "pack-test: $out"
echo "$out" | grep -q '"steps":2' || { echo "pack-test: unexpected output"; exit 1; }
echo "pack-test: OK"
