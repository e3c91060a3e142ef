// filterTokens throughput (target >= 200M tokens/s) on synthetic documents.
// npm run bench -- filter [--tokens N] [--reps R]
import { filterTokens } from '../dist/filter/filter_tokens.js';

export async function run(options = {}) {
  const n = options.tokens ?? 50_000_000;
  const reps = options.reps ?? 5;
  const tokens = new Uint32Array(n);
  const scores = new Float32Array(n);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    tokens[i] = i % 700 === 699 ? 0 : 2 + Math.floor(rand() * 50000);
    scores[i] = rand();
  }
  const quantised = Uint8Array.from(scores.subarray(0, n), (p) => Math.round(p * 255));
  const cases = [
    ['mask', { mode: 'mask', threshold: 0.8, eotId: 0 }, scores],
    ['remove', { mode: 'remove', threshold: 0.8, hiddenId: 1, eotId: 0 }, scores],
    ['document', { mode: 'document', threshold: 0.6, eotId: 0 }, scores],
    ['mask_fraction', { mode: 'mask', fraction: 0.2, eotId: 0 }, scores],
    ['mask_uint8', { mode: 'mask', threshold: 0.8, eotId: 0 }, quantised],
  ];
  for (const [name, opts, s] of cases) {
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      filterTokens(tokens, s, opts);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    console.log(JSON.stringify({ bench: 'filter', case: name, metric: 'tokens_per_s', value: n / best, unit: 'tokens/s', tokens: n }));
  }
}
