/**
 * Random windows of labelled sequences for classifier training, drawn from {@link Random}
 * (lib/data/random.ts).
 * @module
 */
import type { Random } from '../data/random.js';

/** A random window of at most `n` tokens of a labelled sequence (the sequence itself when shorter). */
export function windowOf<S extends { tokens: Uint32Array; labels: Uint8Array }>(s: S, n: number, random: Random): S {
  if (s.tokens.length <= n) return s;
  const start = Math.floor(random.next() * (s.tokens.length - n + 1));
  return { ...s, tokens: s.tokens.slice(start, start + n), labels: s.labels.slice(start, start + n) };
}
