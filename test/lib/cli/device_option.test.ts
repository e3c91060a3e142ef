// `--device` / `--precision` of `score` and `label`: parsed once (lib/cli/device_option.ts), a
// bad value is a usage error (exit 2) before any file is read.
import { afterEach, describe, expect, it } from 'vitest';
import { deviceOptionsOf } from '../../../lib/cli/device_option.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { runCaptured } from './run_captured.js';

const saved = process.env.TOKENFILTER_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.TOKENFILTER_DEVICE;
  else process.env.TOKENFILTER_DEVICE = saved;
});

describe('--device and --precision', () => {
  it('default to TOKENFILTER_DEVICE (else cpu) and fp32', () => {
    delete process.env.TOKENFILTER_DEVICE;
    expect(deviceOptionsOf({})).toEqual({ device: 'cpu', precision: 'fp32' });
    process.env.TOKENFILTER_DEVICE = 'auto';
    expect(deviceOptionsOf({ precision: 'bf16' })).toEqual({ device: 'auto', precision: 'bf16' });
    expect(deviceOptionsOf({ device: 'cuda' }).device).toBe('cuda');
  });

  it('refuse unknown values with E_OPTION naming them', () => {
    for (const bad of [{ device: 'gpu' }, { precision: 'fp16' }]) {
      let error: unknown;
      try {
        deviceOptionsOf(bad);
      } catch (e) {
        error = e;
      }
      expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(/gpu|fp16/);
    }
  });

  it('score and label exit 2 on a bad --device before reading any file', async () => {
    const score = await runCaptured('score', '/nonexistent/a.bin', '--classifier', '/nonexistent/c', '--out', '/nonexistent/o', '--device', 'gpu');
    expect(score.code).toBe(2);
    expect(score.stderr).toMatch(/device must be/);
    const label = await runCaptured('label', '/nonexistent/a.bin', '--activations', '/nonexistent', '--sae', '/nonexistent/s', '--latents', '1', '--out', '/nonexistent/o', '--precision', 'fp16');
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/precision must be/);
  });
});
