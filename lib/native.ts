/**
 * Loads the native addon (the file named by the TOKENFILTER_ADDON environment variable when
 * set, else a prebuild for this platform when present, else the local build) and describes
 * the backend it runs on.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenfilterError } from './errors.js';
import type { NativeAddon } from './native_types.js';

const require = createRequire(import.meta.url);
/** The package root: this file lives in lib/ (sources) or dist/ (compiled). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The addon file named by `TOKENFILTER_ADDON` (e.g. the sanitizer build, build-asan/), or
 * undefined for the usual search (prebuild for the platform, then build/Release).
 */
export function addonOverride(): string | undefined {
  const path = process.env.TOKENFILTER_ADDON;
  return path === undefined || path === '' ? undefined : path;
}

function loadAddon(): NativeAddon {
  try {
    const override = addonOverride();
    if (override !== undefined) return require(override);
    return require('node-gyp-build')(packageRoot);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TokenfilterError(
      'E_NATIVE',
      `tokenfilter: could not load the native addon for ${process.platform}-${process.arch} (Node ${process.version}).\n` +
        `  ${reason}\n` +
        '  Build it from source with `npm rebuild tokenfilter` (needs cmake >= 3.18 and a C++17 compiler).',
    );
  }
}

/**
 * The raw addon, typed by {@link NativeAddon}. Internal: this module is the only one that loads
 * it, and the public API wraps and validates every call.
 */
export const native: NativeAddon = loadAddon();

/** SIMD instruction set used by the CPU kernels. */
export type SimdLevel = 'scalar' | 'avx2' | 'avx512';

/** One CUDA device as the driver reports it. */
export interface CudaDevice {
  /** Marketing name, e.g. "NVIDIA H100 80GB HBM3". */
  name: string;
  /** Global memory in bytes. */
  memory: number;
  /** Compute capability, e.g. "9.0". */
  capability: string;
  /** Streaming multiprocessors. */
  multiprocessors: number;
  /** SM clock in kHz (0 when the runtime does not report it). */
  clockKhz: number;
}

/** The CUDA backend (native/cuda, loaded on demand from tokenfilter_cuda.so). */
export interface CudaBackend {
  /** Whether a CUDA device can be used. */
  available: boolean;
  /**
   * Why not, when `available` is false: starts with "no CUDA binary built", "no driver" or
   * "no device" (or says which other check failed); empty when available.
   */
  reason: string;
  /** The library that was loaded or tried. */
  library: string;
  /** The devices found (empty when unavailable). */
  devices: CudaDevice[];
  /** Which GEMMs run on the device: our own kernels (no cuBLAS in this build). */
  gemm: 'own' | 'cublasLt';
}

/** What the native core runs on. */
export interface BackendInfo {
  /** SIMD level the kernels use now. */
  simd: SimdLevel;
  /** Best SIMD level this CPU supports. */
  detectedSimd: SimdLevel;
  /** Threads in the native pool (including the calling thread). */
  threads: number;
  /** Hardware threads reported by the OS. */
  hardwareThreads: number;
  /** The CUDA backend: available or not, and why. */
  cuda: CudaBackend;
  /**
   * Set once a model asked for `device: 'auto'` (lib/device.ts): the device it got and, when
   * that was the CPU, why CUDA was not used.
   */
  auto?: { device: 'cpu' | 'cuda'; reason: string };
  /** The most threads {@link setThreads} accepts: 4 per hardware thread, at most 256. */
  maxThreads: number;
}

/** Where the CUDA library is looked for: TOKENFILTER_CUDA_LIB, else next to the local build. */
export function cudaLibraryPath(): string {
  const fromEnv = process.env.TOKENFILTER_CUDA_LIB;
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(packageRoot, 'build', 'Release', 'tokenfilter_cuda.so');
}

let cudaState: CudaBackend | undefined;
let autoChoice: BackendInfo['auto'];

/**
 * The CUDA backend's status. The first call loads the library (dlopen) and asks the driver for
 * devices; a missing library, driver or device gives `available: false` and a reason, never
 * an exception. The result is fixed for the life of the process.
 */
export function cudaBackend(): CudaBackend {
  if (!cudaState) {
    const s = native.cudaLoad(cudaLibraryPath());
    cudaState = { available: s.available, reason: s.reason, library: s.path, devices: s.devices, gemm: 'own' };
  }
  return { ...cudaState, devices: cudaState.devices.map((d) => ({ ...d })) };
}

/** Records what `device: 'auto'` resolved to, for backendInfo(). Internal (lib/device.ts). */
export function recordAutoDevice(choice: { device: 'cpu' | 'cuda'; reason: string }): void {
  autoChoice = { ...choice };
}

/** Reports the backend: SIMD level, threads, CUDA. */
export function backendInfo(): BackendInfo {
  const cpu = native.backendInfo();
  const info: BackendInfo = { ...cpu, cuda: cudaBackend() };
  if (autoChoice) info.auto = { ...autoChoice };
  return info;
}

/**
 * Sets the number of threads the native kernels use (default: all hardware threads, or the
 * `TOKENFILTER_THREADS` environment variable, clamped to `maxThreads` with a warning on stderr).
 * When the threads cannot be started (a thread, memory or address-space limit), the threads
 * started so far are joined, the previous pool stays in use, and an Error with code E_NATIVE
 * names the limit.
 * @throws TypeError (E_OPTION) unless `threads` is an integer; RangeError (E_OPTION) below 1,
 *   (E_TOO_LARGE) above {@link BackendInfo.maxThreads}; Error (E_NATIVE) when threads cannot start.
 */
export function setThreads(threads: number): void {
  native.setThreads(threads);
}

/**
 * Lowers (or restores) the SIMD level the kernels use; for testing and benchmarking.
 * @throws Error if the CPU does not support `level`.
 */
export function setSimdLevel(level: SimdLevel): void {
  native.setSimd(level);
}
