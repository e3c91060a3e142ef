// A toy per-shard stage in one file, as a newcomer would add one (docs/stages.md): for each
// token shard it writes `<stem>.toy`, the running sum (mod 2^32) of the shard's tokens as
// little-endian uint32, chunk by chunk through an AtomicFile. `main` runs one task of it like a
// CLI command (`OUT I/N SHARDS...`, I may be auto). With TOY_HANG_AT=<stem> it stops half-way
// through that shard's output (the temporary file part written, nothing renamed), creates the
// file TOY_HANG_MARKER and waits, so a test can SIGKILL it mid-shard.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../../../lib/abort.js';
import { parseTask } from '../../../lib/cli/task_index.js';
import { writeAtomically } from '../../../lib/data/atomic_file.js';
import { readShard } from '../../../lib/data/shard.js';
import { runShards, shardStem, type ShardStage } from '../../../lib/stages/shard_runner.js';

/** Tokens per write. */
const CHUNK = 1024;

/** What a toy record adds: the shard's size and the final sum. */
export interface ToyFields {
  tokens: number;
  sum: number;
}

async function hang(marker: string): Promise<never> {
  writeFileSync(marker, '');
  return new Promise(() => setInterval(() => undefined, 60_000));
}

/** The toy stage writing into `out`. */
export function toyStage(out: string, env: NodeJS.ProcessEnv = process.env): ShardStage<ToyFields, { chunk: number }> {
  const outputOf = (shard: string) => join(out, `${shardStem(shard)}.toy`);
  return {
    name: 'toy',
    outputs: (shard) => [outputOf(shard)],
    prepare: async () => ({ chunk: CHUNK }),
    run: (shard, signal) =>
      writeAtomically(outputOf(shard.path), async (file) => {
        const tokens = readShard(shard.path).tokens;
        const sums = new Uint32Array(CHUNK);
        let sum = 0;
        for (let start = 0; start < tokens.length; start += CHUNK) {
          throwIfAborted(signal, 'toy');
          const n = Math.min(CHUNK, tokens.length - start);
          for (let i = 0; i < n; i++) sums[i] = sum = (sum + tokens[start + i]) >>> 0;
          await file.write(new Uint8Array(sums.buffer, 0, 4 * n));
          if (env.TOY_HANG_AT === shardStem(shard.path) && start + n >= tokens.length / 2) await hang(env.TOY_HANG_MARKER!);
        }
        return { tokens: tokens.length, sum };
      }),
  };
}

/** `OUT I/N SHARDS...`: runs one task; returns what it did. */
export async function main(argv: readonly string[]): Promise<{ task: { index: number; count: number }; processed: string[]; skipped: string[] }> {
  const [out, shard, ...shards] = argv;
  const result = await runShards(toyStage(out), { shards, out, task: parseTask(shard) });
  return { task: result.task, processed: result.processed.map((r) => r.input), skipped: result.skipped };
}
