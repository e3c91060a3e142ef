// Float64 reference of the SAE forward pass and loss (see native/models/sae.h), for tests.
export interface RefConfig {
  D: number;
  L: number;
  kind: 'topk' | 'jumprelu';
  k: number;
  l0: number;
  bandwidth: number;
  auxC: number;
  auxK: number;
}

let state = 1;
/** Seeds the generator (mulberry32). */
export function seedRandom(seed: number): void {
  state = seed >>> 0;
}
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export function normal(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function layout(c: { D: number; L: number }) {
  const wEnc = 0;
  const bEnc = c.D * c.L;
  const th = bEnc + c.L;
  const wDec = th + c.L;
  const bDec = wDec + c.L * c.D;
  return { wEnc, bEnc, th, wDec, bDec, total: bDec + c.D };
}

/** Indices of the k largest of v among keep (ties: lower index first). */
function topIndices(v: ArrayLike<number>, k: number, keep?: (i: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < v.length; i++) if (!keep || keep(i)) idx.push(i);
  idx.sort((a, b) => v[b] - v[a] || a - b);
  return idx.slice(0, k);
}

/** pre and f [N, L] in float64. */
export function refForward(c: RefConfig, p: ArrayLike<number>, x: ArrayLike<number>, N: number) {
  const lay = layout(c);
  const pre = new Float64Array(N * c.L);
  const f = new Float64Array(N * c.L);
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < c.L; l++) {
      let s = p[lay.bEnc + l];
      for (let d = 0; d < c.D; d++) s += x[n * c.D + d] * p[lay.wEnc + d * c.L + l];
      pre[n * c.L + l] = s;
    }
    const row = pre.subarray(n * c.L, (n + 1) * c.L);
    if (c.kind === 'topk') for (const i of topIndices(row, c.k)) f[n * c.L + i] = Math.max(row[i], 0);
    else for (let l = 0; l < c.L; l++) f[n * c.L + l] = row[l] > p[lay.th + l] ? row[l] : 0;
  }
  return { pre, f };
}

function decode(c: RefConfig, p: ArrayLike<number>, f: ArrayLike<number>, N: number, bias: boolean): Float64Array {
  const lay = layout(c);
  const out = new Float64Array(N * c.D);
  for (let n = 0; n < N; n++)
    for (let d = 0; d < c.D; d++) {
      let s = bias ? p[lay.bDec + d] : 0;
      for (let l = 0; l < c.L; l++) s += f[n * c.L + l] * p[lay.wDec + l * c.D + d];
      out[n * c.D + d] = s;
    }
  return out;
}

/**
 * Total loss with every latent that does not fire in this batch counted dead (a fresh model
 * with deadAfter <= N). `residual` fixes e = x - xhat for the auxiliary loss (stop-gradient).
 */
export function refLoss(c: RefConfig, p: ArrayLike<number>, x: ArrayLike<number>, N: number, residual?: Float64Array) {
  const { pre, f } = refForward(c, p, x, N);
  const xhat = decode(c, p, f, N, true);
  let mse = 0;
  for (let i = 0; i < N * c.D; i++) mse += (xhat[i] - x[i]) ** 2;
  mse /= N;
  let active = 0;
  const fired = new Uint8Array(c.L);
  for (let n = 0; n < N; n++)
    for (let l = 0; l < c.L; l++)
      if (f[n * c.L + l] !== 0) {
        active++;
        fired[l] = 1;
      }
  const e = residual ?? Float64Array.from(xhat, (v, i) => x[i] - v);
  let aux = 0;
  const deadCount = fired.reduce((a, b) => a + (b ? 0 : 1), 0);
  if (deadCount > 0 && c.auxC > 0) {
    const a = new Float64Array(N * c.L);
    for (let n = 0; n < N; n++) {
      const row = pre.subarray(n * c.L, (n + 1) * c.L);
      for (const i of topIndices(row, Math.min(c.auxK, deadCount), (j) => !fired[j])) a[n * c.L + i] = Math.max(row[i], 0);
    }
    const ehat = decode(c, p, a, N, false);
    for (let i = 0; i < N * c.D; i++) aux += (ehat[i] - e[i]) ** 2;
    aux /= N;
  }
  const sparsity = c.kind === 'jumprelu' ? (c.l0 * active) / N : 0;
  return { loss: mse + sparsity + c.auxC * aux, mse, aux, residual: e, pre, f };
}
