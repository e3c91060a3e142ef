// The CUDA backend loads on demand and reports why it is unusable instead of failing: these
// run on every machine (the GPU parity suite is test/cuda/).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendInfo, cudaBackend, cudaLibraryPath, native, packageRoot } from '../../lib/native.js';

// What CMake recorded about the CUDA build (absent for a prebuild or a node-gyp build).
function buildStatus(): string | undefined {
  const file = join(packageRoot, 'build', 'cuda-backend.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

describe('CUDA backend loading', () => {
  it('reports availability with a reason, devices and the GEMM in use', () => {
    const cuda = backendInfo().cuda;
    expect(cuda.gemm).toBe('own');
    expect(cuda.library).toBe(cudaLibraryPath());
    if (cuda.available) {
      expect(cuda.reason).toBe('');
      expect(cuda.devices.length).toBeGreaterThan(0);
      for (const d of cuda.devices) {
        expect(d.name.length).toBeGreaterThan(0);
        expect(d.memory).toBeGreaterThan(0);
        expect(d.capability).toMatch(/^\d+\.\d+$/);
      }
    } else {
      expect(cuda.reason).toMatch(/^(no CUDA binary built|no driver|no device)/);
      expect(cuda.devices).toEqual([]);
    }
  });

  it('builds the library whenever CMake found nvcc, and a built library explains a missing driver', () => {
    const status = buildStatus();
    if (status === undefined || !status.startsWith('built')) {
      console.log(`CUDA library not built here (${status ?? 'no CMake build'}): only the "no binary" reason is checked`);
      expect(cudaBackend().reason).toMatch(/^no CUDA binary built|^$/);
      return;
    }
    expect(existsSync(cudaLibraryPath())).toBe(true);
    const cuda = cudaBackend();
    // loaded without a crash; unless a GPU answers, the reason is about the driver or device
    if (!cuda.available) expect(cuda.reason).toMatch(/^(no driver|no device)/);
  });

  it('keeps the first result for the process and returns copies', () => {
    const a = cudaBackend();
    a.devices.push({ name: 'fake', memory: 1, capability: '0.0', multiprocessors: 1, clockKhz: 0 });
    expect(cudaBackend().devices).not.toContainEqual(expect.objectContaining({ name: 'fake' }));
    // the addon loads once per process: another path returns the first answer
    const again = native.cudaLoad('/nonexistent/tokenfilter_cuda.so');
    expect(again.path).toBe(cudaLibraryPath());
  });

  it('device calls without CUDA fail with E_DEVICE, never a crash', () => {
    if (cudaBackend().available) return; // the parity suite covers the device
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => native._cudaOps.relu2Forward(new Float32Array(4), new Float32Array(4), 4))).toBe('E_DEVICE');
    const config = { vocabSize: 8, dModel: 8, layers: 1, heads: 2, hidden: 32, context: 4, tieEmbeddings: true, ropeBase: 10000, normEps: 1e-5 };
    expect(code(() => new native.CudaTransformerModel(config, 'fp32'))).toBe('E_DEVICE');
    expect(code(() => new native.CudaTransformerModel(config, 'fp16'))).toBe('E_OPTION');
  });

  it('refuses a non-string path', () => {
    expect(() => native.cudaLoad(42)).toThrow(TypeError);
  });
});
