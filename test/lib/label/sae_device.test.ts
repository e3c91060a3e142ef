// Where SparseAutoencoder.encode runs (load's `device` option, toDevice): 'cpu' by default,
// 'cuda' or E_DEVICE naming the reason, 'auto' falling back to the CPU; unknown names are
// E_OPTION; the CPU codes are unchanged by a round trip. Device parity: test/cuda/sae_device.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTokenfilterError } from '../../../lib/errors.js';
import { SparseAutoencoder } from '../../../lib/label/sae.js';
import { cudaBackend } from '../../../lib/native.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('SparseAutoencoder device', () => {
  const cuda = cudaBackend();

  it("encodes on the CPU unless told otherwise; 'auto' follows the backend", async () => {
    const sae = SparseAutoencoder.create({ dModel: 4, dSae: 8, kind: 'topk', k: 2, seed: 1 });
    expect(sae.device).toBe('cpu');
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    const before = await sae.encode(x);
    expect(sae.toDevice({ device: 'auto' }).device).toBe(cuda.available ? 'cuda' : 'cpu');
    expect(sae.toDevice({ device: 'cpu' }).device).toBe('cpu');
    expect([...(await sae.encode(x))]).toEqual([...before]);
  });

  it("'cuda' without a usable GPU is E_DEVICE naming the reason, at load and in toDevice", async () => {
    const sae = SparseAutoencoder.create({ dModel: 4, dSae: 8, kind: 'jumprelu', seed: 1 });
    const path = join(mkdtempSync(join(tmpdir(), 'tf-sae-device-')), 'sae.safetensors');
    await sae.save(path);
    const loaded = await SparseAutoencoder.load(path, { device: 'cuda' }).then((s) => s, (e: unknown) => e);
    if (cuda.available) {
      expect((loaded as SparseAutoencoder).device).toBe('cuda');
      return;
    }
    expect(isTokenfilterError(loaded, 'E_DEVICE')).toBe(true);
    expect((loaded as Error).message).toContain(cuda.reason);
    expect(isTokenfilterError(thrown(() => sae.toDevice({ device: 'cuda' })), 'E_DEVICE')).toBe(true);
    expect(sae.device).toBe('cpu');
  });

  it('refuses unknown devices and precisions with E_OPTION', () => {
    const sae = SparseAutoencoder.create({ dModel: 4, dSae: 8, seed: 1 });
    expect(isTokenfilterError(thrown(() => sae.toDevice({ device: 'gpu' as 'cpu' })), 'E_OPTION')).toBe(true);
    expect(isTokenfilterError(thrown(() => sae.toDevice({ device: 'cpu', precision: 'fp16' as 'fp32' })), 'E_OPTION')).toBe(true);
  });
});
