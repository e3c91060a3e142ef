/**
 * A small seeded generator for subsampling training tokens and documents (deterministic given
 * the seed).
 * @module
 */

/** mulberry32: 32-bit state, uniform doubles in [0, 1). */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
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

/** A random window of at most `n` tokens of a labelled sequence (the sequence itself when shorter). */
export function windowOf<S extends { tokens: Uint32Array; labels: Uint8Array }>(s: S, n: number, random: Random): S {
  if (s.tokens.length <= n) return s;
  const start = Math.floor(random.next() * (s.tokens.length - n + 1));
  return { ...s, tokens: s.tokens.slice(start, start + n), labels: s.labels.slice(start, start + n) };
}
