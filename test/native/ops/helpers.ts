// Shared helpers for the op tests: seeded random inputs, float64 comparisons that report the
// worst index, finite differences, and sweeps over SIMD levels and thread counts.
import { expect } from 'vitest';
import { backendInfo, native, setSimdLevel, setThreads, type SimdLevel } from '../../../lib/native.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ops: any = native._ops;

/** A fresh seed per run (printed in every failure message); TF_TEST_SEED replays one. */
export function freshSeed(): number {
  const fixed = process.env.TF_TEST_SEED;
  return fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}

/** mulberry32: small, fast, good enough for test inputs. */
export function makeRng(seed: number): { uniform: () => number; normal: () => number; below: (n: number) => number } {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal, below: (n) => Math.floor(uniform() * n) };
}

export function randn(rng: ReturnType<typeof makeRng>, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

export function toF64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>);
}

/**
 * Expects |actual[i] - expected[i]| <= atol + rtol * |expected[i]| for every i; on failure the
 * message names the label, the seed and the worst index.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { atol: number; rtol: number },
  label: string,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const ratio = err === 0 ? 0 : err / (tol.atol + tol.rtol * Math.abs(expected[i]));
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (worst >= 0 && !(worstRatio <= 1)) {
    expect.fail(
      `${label}: worst index ${worst}: got ${actual[worst]}, expected ${expected[worst]} ` +
        `(error ${worstRatio.toFixed(2)}x the tolerance atol=${tol.atol} rtol=${tol.rtol})`,
    );
  }
}

/**
 * Central-difference gradient of a float64 scalar function f at x (every coordinate).
 * f must not keep a reference to its argument.
 */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    probe[i] = x[i] + h;
    const plus = f(probe);
    probe[i] = x[i] - h;
    const minus = f(probe);
    probe[i] = x[i];
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** Directional derivative of f at x along u by central differences in float64. */
export function directionalDerivative(f: (x: Float64Array) => number, x: Float64Array, u: Float64Array, h = 1e-5): number {
  const plus = Float64Array.from(x, (v, i) => v + h * u[i]);
  const minus = Float64Array.from(x, (v, i) => v - h * u[i]);
  return (f(plus) - f(minus)) / (2 * h);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** SIMD levels this CPU supports, lowest first. */
export function supportedSimdLevels(): SimdLevel[] {
  const all: SimdLevel[] = ['scalar', 'avx2', 'avx512'];
  return all.slice(0, all.indexOf(backendInfo().detectedSimd) + 1);
}

/** Runs fn under every supported SIMD level and thread counts 1 and 2, restoring the settings. */
export function forEachBackend(fn: (level: SimdLevel, threads: number) => void): void {
  const before = backendInfo();
  try {
    for (const level of supportedSimdLevels())
      for (const threads of [1, 2]) {
        setSimdLevel(level);
        setThreads(threads);
        fn(level, threads);
      }
  } finally {
    setSimdLevel(before.simd);
    setThreads(before.threads);
  }
}

/** Runs fn with a given thread count, restoring the previous one. */
export function withThreads<T>(threads: number, fn: () => T): T {
  const before = backendInfo().threads;
  setThreads(threads);
  try {
    return fn();
  } finally {
    setThreads(before);
  }
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
