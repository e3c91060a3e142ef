import { describe, expect, it } from 'vitest';
import { backendInfo, native, setSimdLevel, setThreads } from '../../lib/native.js';

describe('native backend', () => {
  it('reports SIMD level and threads', () => {
    const info = backendInfo();
    expect(['scalar', 'avx2', 'avx512']).toContain(info.simd);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.cuda.available).toBe('boolean');
  });

  it('changes the thread count and rejects bad values', () => {
    const before = backendInfo().threads;
    setThreads(1);
    expect(backendInfo().threads).toBe(1);
    setThreads(before);
    expect(() => setThreads(0)).toThrow(RangeError);
    expect(() => setThreads(1.5)).toThrow(TypeError);
    expect(() => setThreads('2' as unknown as number)).toThrow(/threads must be an integer/);
  });

  it('lowers the SIMD level and refuses unknown names', () => {
    const detected = backendInfo().detectedSimd;
    setSimdLevel('scalar');
    expect(backendInfo().simd).toBe('scalar');
    setSimdLevel(detected);
    expect(backendInfo().simd).toBe(detected);
    expect(() => setSimdLevel('sse9' as never)).toThrow(/unknown SIMD level/);
  });

  it('turns a C++ exception into a JS error, synchronously and asynchronously', async () => {
    expect(() => native._throwNative('boom from C++')).toThrow('boom from C++');
    await expect(native._rejectNative('async boom')).rejects.toThrow('async boom');
  });
});
