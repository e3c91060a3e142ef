/**
 * Loads the native addon (the file named by the TOKENFILTER_ADDON environment variable when
 * set, else a prebuild for this platform when present, else the local build) and describes
 * the backend it runs on.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

function loadAddon(): any {
  try {
    const override = addonOverride();
    if (override !== undefined) return require(override);
    return require('node-gyp-build')(packageRoot);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `tokenfilter: could not load the native addon for ${process.platform}-${process.arch} (Node ${process.version}).\n` +
        `  ${reason}\n` +
        '  Build it from source with `npm rebuild tokenfilter` (needs cmake >= 3.18 and a C++17 compiler).',
    );
  }
}

/** The raw addon. Internal: the public API wraps and validates every call. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const native: any = loadAddon();

/** SIMD instruction set used by the CPU kernels. */
export type SimdLevel = 'scalar' | 'avx2' | 'avx512';

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
  /** Whether a CUDA device is in use. */
  cuda: boolean;
  /** The most threads {@link setThreads} accepts: 4 per hardware thread, at most 256. */
  maxThreads: number;
}

/** Reports the backend: SIMD level, threads, CUDA. */
export function backendInfo(): BackendInfo {
  return native.backendInfo() as BackendInfo;
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
