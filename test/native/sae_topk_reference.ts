// The TopK competition in plain JS (native/kernels/sae_encode_math.h: sae_topk_before,
// sae_topk_code), for the CPU test and the CUDA parity test: in each row of pre [N, L], the k
// largest values (ties: the lower index; -0 equals +0) keep max(value, 0), the rest become 0.
export function topkReference(pre: Float32Array, L: number, k: number): Float32Array {
  const out = new Float32Array(pre.length);
  const idx = Array.from({ length: L }, (_, i) => i);
  for (let row = 0; row * L < pre.length; row++) {
    const v = pre.subarray(row * L, (row + 1) * L);
    const order = [...idx].sort((a, b) => (v[a] > v[b] ? -1 : v[a] < v[b] ? 1 : a - b));
    for (const i of order.slice(0, k)) out[row * L + i] = v[i] > 0 ? v[i] : 0;
  }
  return out;
}

// Rows of small integers (many ties), with -0 and +0 among them.
export function tiedRows(rng: { uniform: () => number }, N: number, L: number): Float32Array {
  const pre = new Float32Array(N * L);
  for (let i = 0; i < pre.length; i++) {
    const r = Math.floor(rng.uniform() * 7) - 3;
    pre[i] = r === 0 && rng.uniform() < 0.5 ? -0 : r;
  }
  return pre;
}
