// Transformer's device option on every machine (the device parity itself is test/cuda/).
import { describe, expect, it } from 'vitest';
import { isTokenfilterError } from '../../../lib/errors.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { backendInfo, cudaBackend } from '../../../lib/native.js';

const CONFIG = { vocabSize: 32, dModel: 16, layers: 1, heads: 2, context: 8 };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('Transformer device option', () => {
  it("runs on the CPU by default and with device 'cpu'", async () => {
    const saved = process.env.TOKENFILTER_DEVICE;
    delete process.env.TOKENFILTER_DEVICE;
    try {
      expect((await Transformer.create(CONFIG)).device).toBe('cpu');
      const model = await Transformer.create({ ...CONFIG, device: 'cpu' });
      expect(model.device).toBe('cpu');
      expect(model.precision).toBe('fp32');
    } finally {
      if (saved !== undefined) process.env.TOKENFILTER_DEVICE = saved;
    }
  });

  it("refuses 'cuda' without a device, with E_DEVICE and the reason", async () => {
    const cuda = cudaBackend();
    if (cuda.available) return; // covered by test/cuda/transformer.test.ts
    const error = await rejection(Transformer.create({ ...CONFIG, device: 'cuda' }));
    expect(isTokenfilterError(error, 'E_DEVICE')).toBe(true);
    expect((error as Error).message).toContain(cuda.reason);
  });

  it("'auto' uses CUDA when present, else the CPU, and backendInfo() says which", async () => {
    const model = await Transformer.create({ ...CONFIG, device: 'auto' });
    expect(model.device).toBe(cudaBackend().available ? 'cuda' : 'cpu');
    expect(backendInfo().auto?.device).toBe(model.device);
  });

  it('refuses an unknown device or precision with E_OPTION', async () => {
    expect(isTokenfilterError(await rejection(Transformer.create({ ...CONFIG, device: 'gpu' as never })), 'E_OPTION')).toBe(true);
    expect(isTokenfilterError(await rejection(Transformer.create({ ...CONFIG, precision: 'fp16' as never })), 'E_OPTION')).toBe(true);
  });
});
