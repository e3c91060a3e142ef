// Token shard write and read throughput (MB/s of shard bytes) on synthetic ids.
// Options: --tokens N (default 100,000,000), --vocab V (default 50,000: uint16 shards; > 65,536
// gives uint32), --shard-tokens N (default 100,000,000), --documents-tokens N (tokens per
// written document, default 4,096), --dir PATH (default: a temporary folder, removed after).
// Prints JSON lines {bench, metric, value, unit, ...}. Needs `npx tsc -p tsconfig.json` first.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readShard, ShardFile } from '../dist/data/shard.js';
import { ShardWriter } from '../dist/data/shard_writer.js';

function emit(metric, value, unit, extra = {}) {
  console.log(JSON.stringify({ bench: 'shards', metric, value: Number(value.toFixed(3)), unit, ...extra }));
}

export async function run(options = {}) {
  const tokens = options.tokens ?? 100_000_000;
  const vocab = options.vocab ?? 50_000;
  const shardTokens = options['shard-tokens'] ?? 100_000_000;
  const docTokens = options['documents-tokens'] ?? 4096;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tf-bench-shards-'));
  const tokenizer = { vocabSize: vocab, eotId: vocab - 1, hiddenId: vocab - 2, hash: 'ab'.repeat(32), name: 'synthetic' };
  const width = vocab <= 65536 ? 2 : 4;
  const common = { tokens, vocab, bytesPerToken: width };
  try {
    // one document buffer of pseudo-random ids reused with a rolling offset, so generation is not timed
    const pool = new Uint32Array(docTokens * 16);
    let s = 12345;
    for (let i = 0; i < pool.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      pool[i] = s % (vocab - 2);
    }
    const writer = new ShardWriter({ dir, prefix: 'bench', shardTokens, tokenizer });
    const t0 = performance.now();
    let written = 0;
    let k = 0;
    while (written < tokens) {
      const n = Math.min(docTokens - 1, tokens - written - 1);
      if (n < 0) break;
      const start = (k++ % 15) * docTokens;
      await writer.writeDocument(pool.subarray(start, start + n));
      written += n + 1;
    }
    const paths = await writer.close();
    const writeSeconds = (performance.now() - t0) / 1000;
    const bytes = paths.reduce((n, p) => n + statSync(p).size, 0);
    emit('write', bytes / 1e6 / writeSeconds, 'MB/s', { ...common, seconds: writeSeconds, shards: paths.length, megabytes: bytes / 1e6, tokensPerSecond: written / writeSeconds });

    const t1 = performance.now();
    let read = 0;
    for (const p of paths) read += readShard(p, { expectTokenizer: tokenizer }).tokens.length;
    const readSeconds = (performance.now() - t1) / 1000;
    if (read !== written) throw new Error(`read ${read} tokens, wrote ${written}`);
    emit('read', bytes / 1e6 / readSeconds, 'MB/s', { ...common, seconds: readSeconds, note: 'whole shards, ids validated against the vocabulary, page cache warm' });

    // random windows through ShardFile (what the batch sampler does)
    const file = new ShardFile(paths[0], { expectTokenizer: tokenizer });
    const window = new Uint32Array(1025);
    const windows = 20_000;
    const t2 = performance.now();
    for (let i = 0; i < windows; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      file.read(s % (file.length - window.length), window);
    }
    const windowSeconds = (performance.now() - t2) / 1000;
    file.close();
    emit('random_windows', windows / windowSeconds, 'windows/s', { ...common, windowTokens: window.length, megabytesPerSecond: (windows * window.length * width) / 1e6 / windowSeconds });
  } finally {
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}
