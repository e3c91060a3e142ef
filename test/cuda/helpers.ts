// Shared by the CUDA parity suite: whether a device is present (and why not), the two op
// tables (CPU `_ops`, device `_cudaOps`), and a describe that runs the parity tests where a
// CUDA device answers and, elsewhere, tests what a machine without one must do instead.
import { describe, expect, it } from 'vitest';
import { resolveDevice } from '../../lib/device.js';
import { isTokenfilterError } from '../../lib/errors.js';
import { Transformer } from '../../lib/model/transformer.js';
import { backendInfo, cudaBackend, native } from '../../lib/native.js';

export const cuda = cudaBackend();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const cpuOps: any = native._ops;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const gpuOps: any = native._cudaOps;

/**
 * describe() for tests that need a CUDA device: runs `body` where one answers. Elsewhere the
 * block's title carries the reason (also printed), and instead of the parity tests it checks
 * the documented behaviour without a device: backendInfo() reports CUDA unavailable with that
 * reason, asking for `device: 'cuda'` fails with E_DEVICE naming it, and `'auto'` falls back to
 * the CPU saying why.
 */
export function describeCuda(title: string, body: () => void): void {
  if (cuda.available) {
    describe(`${title} [${cuda.devices[0]?.name ?? 'CUDA'}]`, body);
    return;
  }
  describe(`${title}: no CUDA device here (${cuda.reason})`, () => {
    it('reports CUDA unavailable with its reason, refuses the cuda device with E_DEVICE, and falls back to the CPU under auto', async () => {
      console.log(`CUDA parity suite "${title}" not run: ${cuda.reason}`);
      const info = backendInfo().cuda;
      expect(info.available).toBe(false);
      expect(info.devices).toEqual([]);
      expect(info.reason).toBe(cuda.reason);
      expect(info.reason.length).toBeGreaterThan(0);
      const refused = await Transformer.create({ vocabSize: 16, layers: 1, dModel: 8, heads: 1, context: 4, device: 'cuda' }).then(() => null, (error: unknown) => error);
      expect(isTokenfilterError(refused) && refused.code).toBe('E_DEVICE');
      expect((refused as Error).message).toContain(cuda.reason);
      expect(() => resolveDevice('cuda')).toThrow(cuda.reason);
      expect(resolveDevice('auto')).toBe('cpu');
      expect(backendInfo().auto).toEqual({ device: 'cpu', reason: `fell back to the CPU: ${cuda.reason}` });
    });
  });
}
