// Loading a biLM (and so a token classifier's biLM) on a device: both transformers go to the
// requested device; 'cuda' without a usable GPU is E_DEVICE naming the reason, 'auto' falls
// back to the CPU. The features' parity across devices is in test/cuda/inference.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BiLM } from '../../../lib/classify/bilm.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { cudaBackend } from '../../../lib/native.js';
import { tinyBiLM } from './fixtures.js';

describe('BiLM.load on a device', () => {
  it("puts both models on the device asked for ('cpu', 'auto'; 'cuda' or E_DEVICE)", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tf-bilm-device-')), 'bilm.safetensors');
    await (await tinyBiLM()).save(path);
    const cpu = await BiLM.load(path, { device: 'cpu' });
    expect([cpu.forward.device, cpu.backward.device]).toEqual(['cpu', 'cpu']);
    const cuda = cudaBackend();
    const auto = await BiLM.load(path, { device: 'auto' });
    expect(auto.forward.device).toBe(cuda.available ? 'cuda' : 'cpu');
    expect(auto.backward.device).toBe(auto.forward.device);
    const onCuda = await BiLM.load(path, { device: 'cuda', precision: 'bf16' }).then((b) => b, (e: unknown) => e);
    if (cuda.available) {
      expect((onCuda as BiLM).forward.precision).toBe('bf16');
    } else {
      expect(isTokenfilterError(onCuda, 'E_DEVICE')).toBe(true);
      expect((onCuda as Error).message).toContain(cuda.reason);
    }
  });
});
