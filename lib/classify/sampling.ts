/**
 * Random windows of labelled sequences for classifier training, drawn from {@link Random}
 * (lib/data/random.ts, re-exported here for the modules that import it from this path).
 * @module
 */
import { Random } from '../data/random.js';

export { Random };

/** A random window of at most `n` tokens of a labelled sequence (the sequence itself when shorter). */
export function windowOf<S extends { tokens: Uint32Array; labels: Uint8Array }>(s: S, n: number, random: Random): S {
  if (s.tokens.length <= n) return s;
  const start = Math.floor(random.next() * (s.tokens.length - n + 1));
  return { ...s, tokens: s.tokens.slice(start, start + n), labels: s.labels.slice(start, start + n) };
}
