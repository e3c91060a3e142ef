/**
 * The package's seeded randomness, all of it in this file: a 32-bit integer hash and the sfc32
 * generator for data ordering (every shuffle is a pure function of (seed, stream, counter), so
 * resuming needs no generator state beyond counters), and {@link Random}, the mulberry32 stream
 * that subsamples classifier training data. Two generators remain because saved results depend
 * on both streams: sfc32 orders every training batch and mulberry32 picks every classifier's
 * training tokens and documents, so replacing either would change the demo's table and every
 * stored experiment. Nothing else in lib/ draws random numbers (no Math.random).
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** murmur3's 32-bit finaliser: a bijective mix of a 32-bit integer. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hashes a list of 32-bit integers to one 32-bit integer. */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = mix32(h ^ mix32((p >>> 0) + 0x7f4a7c15));
  return h;
}

/** Splits a seed (any safe integer ≥ 0) into two 32-bit words. @throws RangeError otherwise. */
export function seedWords(seed: number, name = 'seed'): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new CodedRangeError(`${name} must be a non-negative safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** A uniform double in [0, 1) that depends only on the given integers. */
export function hashUnit(...parts: number[]): number {
  const a = hash32(...parts, 0x51ed270b);
  const b = hash32(...parts, 0x2c1b3c6d);
  return (a * 2 ** 21 + (b >>> 11)) / 2 ** 53;
}

/** sfc32: a small fast generator with a 128-bit state. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from any list of 32-bit integers (hashed, then warmed up). */
  constructor(...seed: number[]) {
    this.a = hash32(...seed, 1);
    this.b = hash32(...seed, 2);
    this.c = hash32(...seed, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextUnit(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** A uniform integer in [0, n), n ≤ 2^53. */
  below(n: number): number {
    return Math.floor(this.nextUnit() * n);
  }
}

/** A random permutation of 0..n-1 (Fisher–Yates) from the generator. */
export function permutation(n: number, rng: Sfc32): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * mulberry32: a 32-bit state, uniform doubles in [0, 1). Subsamples classifier training tokens
 * and documents (deterministic given the seed); `new Random(seed)` starts from state
 * `seed ^ 0x9e3779b9`, {@link Random.fromState} from a raw state.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** A generator whose first draw advances from `state` itself (no seed mixing). */
  static fromState(state: number): Random {
    return new Random((state >>> 0) ^ 0x9e3779b9);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A mask of `n` entries with exactly `k` ones, uniformly chosen (selection sampling). */
  choose(n: number, k: number): Uint8Array {
    const mask = new Uint8Array(n);
    let needed = Math.min(k, n);
    for (let i = 0; i < n && needed > 0; i++) {
      if (this.next() * (n - i) < needed) {
        mask[i] = 1;
        needed--;
      }
    }
    return mask;
  }

  /** A shuffled copy of `items` (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
