// A corrupt checkpoint is refused as a file problem (E_FILE_FORMAT naming file and tensor), never
// passed to the native optimizer (which refused a negative second moment as a bad argument).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../../lib/model/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../../lib/model/safetensors.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('tf-ckpt-');
afterAll(cleanup);

describe('checkpoints', () => {
  it('refuses a negative AdamW second moment and a truncated file with E_FILE_FORMAT', async () => {
    const model = await Transformer.create({ vocabSize: 64, dModel: 16, layers: 1, heads: 2, context: 8, seed: 1 });
    const path = join(dir, 'a.ckpt');
    await saveCheckpoint(path, model, { step: 0, batchesConsumed: 0, tokens: 0, supervisedTokens: 0, flops: 0, lossHistory: [], seconds: 0 });
    const file = await readSafetensors(path);
    const name = [...file.tensors.keys()].find((n) => n.startsWith('optimizer.exp_avg_sq.'))!;
    (file.tensors.get(name)!.data as Float32Array)[5] = -1e-3;
    const corrupt = join(dir, 'negative.ckpt');
    await writeSafetensors(corrupt, file.tensors, file.metadata);
    await expect(loadCheckpoint(corrupt)).rejects.toThrow(
      expect.objectContaining({ code: 'E_FILE_FORMAT', message: `${corrupt}: tensor '${name}' has a negative value at index 5 (second moments are never negative)` }),
    );
    const bytes = readFileSync(path);
    writeFileSync(join(dir, 'cut.ckpt'), bytes.subarray(0, bytes.length - 100));
    await expect(loadCheckpoint(join(dir, 'cut.ckpt'))).rejects.toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', path: join(dir, 'cut.ckpt') }));
  });
});
