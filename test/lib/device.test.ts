import { afterEach, describe, expect, it } from 'vitest';
import { deviceRequest, resolveDevice } from '../../lib/device.js';
import { isTokenfilterError } from '../../lib/errors.js';
import { backendInfo, cudaBackend } from '../../lib/native.js';

const saved = process.env.TOKENFILTER_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.TOKENFILTER_DEVICE;
  else process.env.TOKENFILTER_DEVICE = saved;
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('device selection', () => {
  it('defaults to the CPU, or to TOKENFILTER_DEVICE', () => {
    delete process.env.TOKENFILTER_DEVICE;
    expect(deviceRequest()).toBe('cpu');
    expect(resolveDevice()).toBe('cpu');
    process.env.TOKENFILTER_DEVICE = 'auto';
    expect(deviceRequest()).toBe('auto');
    expect(deviceRequest('cpu')).toBe('cpu');
  });

  it('refuses unknown names from the option and from the environment, with E_OPTION', () => {
    expect(isTokenfilterError(thrown(() => resolveDevice('gpu')), 'E_OPTION')).toBe(true);
    process.env.TOKENFILTER_DEVICE = 'tpu';
    const error = thrown(() => resolveDevice());
    expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
    expect((error as Error).message).toMatch(/TOKENFILTER_DEVICE/);
  });

  it("gives 'cuda' only when available, else E_DEVICE naming the reason", () => {
    const cuda = cudaBackend();
    if (cuda.available) {
      expect(resolveDevice('cuda')).toBe('cuda');
      return;
    }
    const error = thrown(() => resolveDevice('cuda'));
    expect(isTokenfilterError(error, 'E_DEVICE')).toBe(true);
    expect((error as Error).message).toContain(cuda.reason);
  });

  it("'auto' falls back to the CPU without CUDA and says so in backendInfo()", () => {
    const cuda = cudaBackend();
    const got = resolveDevice('auto');
    expect(got).toBe(cuda.available ? 'cuda' : 'cpu');
    const auto = backendInfo().auto;
    expect(auto?.device).toBe(got);
    if (!cuda.available) expect(auto?.reason).toBe(`fell back to the CPU: ${cuda.reason}`);
  });
});
