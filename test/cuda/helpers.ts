// Shared by the CUDA parity suite: whether a device is present (and why not), the two op
// tables (CPU `_ops`, device `_cudaOps`), and a describe that is skipped — visibly, with the
// reason in its name and on the console — where no CUDA device answers.
import { describe, expect, it } from 'vitest';
import { cudaBackend, native } from '../../lib/native.js';

export const cuda = cudaBackend();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const cpuOps: any = native._ops;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const gpuOps: any = native._cudaOps;

/**
 * describe() for tests that need a CUDA device: runs them where one answers; elsewhere the
 * block is reported as skipped, its title carrying the reason, plus one passing test that
 * prints the reason (so a run without a GPU says why the suite did not run).
 */
export function describeCuda(title: string, body: () => void): void {
  if (cuda.available) {
    describe(`${title} [${cuda.devices[0]?.name ?? 'CUDA'}]`, body);
    return;
  }
  describe(`${title}: skipped, ${cuda.reason}`, () => {
    it('reports why no CUDA device is used', () => {
      console.log(`CUDA parity suite "${title}" skipped: ${cuda.reason}`);
      expect(cuda.reason.length).toBeGreaterThan(0);
    });
    describe.skip(`needs a CUDA device (${cuda.reason})`, body);
  });
}
