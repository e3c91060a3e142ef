// Seeded inputs shared by the benchmarks and scripts/leak-check.mjs: the same seed gives the same
// values on every run and machine, so timings and leak cycles see identical data.

/** `n` floats in [-0.5, 0.5) from a 32-bit linear congruential generator seeded with `seed`. */
export function randomArray(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}
