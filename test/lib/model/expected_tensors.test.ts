// Model files are checked against their config before anything is allocated. A few hundred
// bytes of metadata claiming a GPT-2-small model used to make Transformer.load allocate it
// (1 GB of parameters and gradients, seconds of zero-filling) before noticing that no tensor
// was there; a larger claim ended in std::bad_alloc. Each case below watches the process's
// peak resident memory (this file runs in its own process), which that allocation raised by
// about 1 GB.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BiLM, BILM_FORMAT } from '../../../lib/classify/bilm.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { resolveTransformerConfig } from '../../../lib/model/config.js';
import { CHECKPOINT_FORMAT, loadCheckpoint } from '../../../lib/model/checkpoint.js';
import { MAX_LOAD_PARAMETERS, transformerTensorShapes } from '../../../lib/model/expected_tensors.js';
import { transformerParameterCount } from '../../../lib/model/parameter_count.js';
import { writeSafetensors } from '../../../lib/model/safetensors.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, Transformer } from '../../../lib/model/transformer.js';

const dir = await mkdtemp(join(tmpdir(), 'tf-expected-tensors-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const GPT2_SMALL = { vocabSize: 50257, dModel: 768, layers: 12, heads: 12, context: 1024 };
const peakMiB = () => process.resourceUsage().maxRSS / 1024;

async function metadataOnly(name: string, metadata: Record<string, string>): Promise<string> {
  const path = join(dir, name);
  await writeSafetensors(path, [], metadata);
  return path;
}

/** Awaits `p`'s rejection, checking that the process's peak memory grew by under 100 MiB. */
async function rejectsCheaply(p: () => Promise<unknown>): Promise<Error & { code?: string; path?: string }> {
  const before = peakMiB();
  const error = await p().then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string; path?: string },
  );
  expect(error, 'expected a rejection').toBeDefined();
  expect(peakMiB() - before, 'peak memory growth (MiB)').toBeLessThan(100);
  return error!;
}

describe('model files are checked before allocation', () => {
  it('lists the native tensor table for tied and untied configs', () => {
    for (const options of [{ vocabSize: 40, dModel: 8, layers: 2, heads: 2, context: 8 }, { vocabSize: 33, dModel: 12, layers: 1, heads: 3, context: 4, mlpRatio: 2, tieEmbeddings: false }]) {
      const config = resolveTransformerConfig(options);
      const model = Transformer.uninitialized(config);
      expect(transformerTensorShapes(config)).toEqual(model.tensorInfo().map((t) => [t.name, t.shape]));
      expect(transformerParameterCount(config).total).toBe(model.native.paramCount());
      expect(model.parameterCount().total).toBe(model.native.paramCount());
    }
  });

  it('refuses a tiny file claiming GPT-2 small (a missing tensor) without allocating the model', async () => {
    const config = JSON.stringify(resolveTransformerConfig(GPT2_SMALL));
    const model = await metadataOnly('claim.safetensors', { format: MODEL_FORMAT, format_version: MODEL_FORMAT_VERSION, config });
    expect((await rejectsCheaply(() => Transformer.load(model))).message).toMatch(/claim\.safetensors: tensor 'wte.weight' is missing/);
    const checkpoint = await metadataOnly('claim.ckpt.safetensors', { format: CHECKPOINT_FORMAT, format_version: MODEL_FORMAT_VERSION, config });
    expect((await rejectsCheaply(() => loadCheckpoint(checkpoint))).message).toMatch(/tensor 'wte.weight' is missing/);
  });

  it('refuses a biLM whose backward tensors are missing before allocating either model', async () => {
    const tokenizer = await Tokenizer.train(['a tiny corpus for a tiny tokenizer'.repeat(4)], { vocabSize: 270 });
    const config = JSON.stringify({ ...GPT2_SMALL, vocabSize: tokenizer.vocabSize });
    const path = await metadataOnly('bilm.safetensors', { format: BILM_FORMAT, tokenizer: JSON.stringify(tokenizer.toJSON()), forward_config: config, backward_config: config });
    expect((await rejectsCheaply(() => BiLM.load(path))).message).toMatch(/tensor 'forward\.wte\.weight' is missing/);
  });

  it('refuses a config beyond MAX_LOAD_PARAMETERS with E_TOO_LARGE, naming the file and the limit', async () => {
    const config = JSON.stringify(resolveTransformerConfig({ ...GPT2_SMALL, vocabSize: 1 << 21 }));
    const path = await metadataOnly('huge.safetensors', { format: MODEL_FORMAT, format_version: MODEL_FORMAT_VERSION, config });
    const error = await rejectsCheaply(() => Transformer.load(path));
    expect(error.code).toBe('E_TOO_LARGE');
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain(`limit of ${MAX_LOAD_PARAMETERS.toExponential(0)}`);
  });
});
