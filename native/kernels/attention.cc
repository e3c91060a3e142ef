// Causal multi-head self-attention with a streaming (online) softmax over key blocks, in the
// style of FlashAttention: no [T, T] matrix is kept. Forward saves lse = log-sum-exp of each
// query row's scaled scores; backward recomputes the probabilities p = exp(s - lse) from q, k
// and lse block by block.
//
// Every product of blocks runs through simd::combine (a small register-tiled GEMM that
// broadcasts one operand and streams contiguous rows of the other), so keys are stored
// transposed (KT [hs, keys]) for the scores and plain (K, V [keys, hs]) for the weighted sums.
// Head rows are copied into padded scratch (hsp = hs rounded up to the vector width) so every
// vector load is whole. Query and key blocks have the same size and alignment, so a block pair
// is either fully visible or on the diagonal (where the future half is masked).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention_math.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace tf {

namespace {

using namespace simd;

constexpr int64_t kQueryBlock = 64;  // query rows per forward task / backward inner block
constexpr int64_t kKeyBlock = 64;    // keys per streamed block (a multiple of every W)
static_assert(kQueryBlock == kKeyBlock, "diagonal blocks must line up");

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

struct Shape {
  int64_t B, T, C, NH, hs;
  float scale;
};

float* scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// dst [n_pad, hsp] = scale * the first hs floats of n rows of src (ld apart), zero padded to
// hsp columns and n_pad rows.
TF_SIMD_INLINE void gather_rows(float* dst, int64_t hsp, const float* src, int64_t ld, int64_t hs, int64_t n,
                                int64_t n_pad, float scale) {
  for (int64_t r = 0; r < n; r++) {
    const float* x = src + r * ld;
    float* y = dst + r * hsp;
    for (int64_t d = 0; d < hs; d++) y[d] = x[d] * scale;
    for (int64_t d = hs; d < hsp; d++) y[d] = 0.0f;
  }
  std::memset(dst + n * hsp, 0, sizeof(float) * (n_pad - n) * hsp);
}

// dst[d * ldt + r] = src[r * hsp + d] for d < hs, r < n: a transpose in 16 x 16 tiles so that
// both sides stay within a few cache lines.
TF_SIMD_INLINE void transpose_rows(float* dst, int64_t ldt, const float* src, int64_t hsp, int64_t hs, int64_t n) {
  for (int64_t r0 = 0; r0 < n; r0 += 16)
    for (int64_t d0 = 0; d0 < hs; d0 += 16) {
      const int64_t r1 = std::min(n, r0 + 16), d1 = std::min(hs, d0 + 16);
      for (int64_t d = d0; d < d1; d++)
        for (int64_t r = r0; r < r1; r++) dst[d * ldt + r] = src[r * hsp + d];
    }
}

// One row of a score block: s[c] for c < valid are scores, later columns are masked.
// Overwrites s[0:kKeyBlock] with p = exp(s - shift) (0 where masked); returns sum p.
template <int W>
TF_SIMD_INLINE float exp_row(float* s, int64_t valid, float shift) {
  for (int64_t c = valid; c < kKeyBlock; c++) s[c] = -INFINITY;
  const vf<W> sh = broadcast<W>(shift);
  vf<W> sum{};
  for (int64_t c = 0; c < kKeyBlock; c += W) {
    vf<W> e = exp<W>(load<W>(s + c) - sh);
    sum += e;
    store<W>(s + c, e);
  }
  return hsum<W>(sum);
}

// Largest of s[0:valid] (valid >= 1): masks the rest of the row and takes a vector max.
template <int W>
TF_SIMD_INLINE float masked_row_max(float* s, int64_t valid) {
  for (int64_t c = valid; c < kKeyBlock; c++) s[c] = -INFINITY;
  vf<W> m = load<W>(s);
  for (int64_t c = W; c < kKeyBlock; c += W) m = vmax<W>(m, load<W>(s + c));
  return hmax<W>(m);
}

// ---- forward: one task = (b, h, group of consecutive query blocks) ---------------------------
// out [B, T, C], lse [B, NH, T], qkv [B, T, 3C]
// The task gathers its head's keys (transposed) and values for every key its queries can see
// once, then per query block and key block: S = Q K^T [nq, nk]; per row the running max m and
// sum l are updated and the accumulated output O is rescaled by exp(m_old - m_new); O += P V.
struct AttentionForwardTask {
  template <int W>
  TF_SIMD_INLINE static void run(float* out, float* lse, const float* qkv, const Shape* shape, int64_t groups,
                                 int64_t task) {
    const Shape& S = *shape;
    const int64_t T = S.T, C = S.C, hs = S.hs, hsp = round_up(hs, W), C3 = 3 * C;
    const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
    const int64_t per_group = (blocks + groups - 1) / groups;
    // the last query blocks (most keys) first, so the dynamic schedule ends with small tasks
    const int64_t g = groups - 1 - task % groups;
    const int64_t h = task / groups % S.NH, b = task / groups / S.NH;
    const int64_t qb0 = g * per_group, qb1 = std::min(blocks, qb0 + per_group);
    if (qb0 >= qb1) return;
    const int64_t keys = std::min(T, qb1 * kQueryBlock), keys_p = round_up(keys, kKeyBlock);
    const float* base = qkv + b * T * C3 + h * hs;

    float* KT = scratch(static_cast<size_t>(2 * keys_p * hsp + 2 * kQueryBlock * hsp + kQueryBlock * kKeyBlock +
                                            2 * kQueryBlock));
    float* V = KT + keys_p * hsp;           // [keys_p, hsp] values (KT is [hs, keys_p])
    float* Q = V + keys_p * hsp;            // [nq, hsp] scaled queries
    float* O = Q + kQueryBlock * hsp;       // [nq, hsp] unnormalised output
    float* P = O + kQueryBlock * hsp;       // [nq, kKeyBlock] scores, then probabilities
    float* m = P + kQueryBlock * kKeyBlock;  // [nq] running max
    float* l = m + kQueryBlock;              // [nq] running sum of exp

    // key rows pass through V on their way into KT (zero columns past `keys`), then value rows
    gather_rows(V, hsp, base + C, C3, hs, keys, keys_p, 1.0f);
    std::memset(KT, 0, sizeof(float) * hs * keys_p);
    transpose_rows(KT, keys_p, V, hsp, hs, keys);
    gather_rows(V, hsp, base + 2 * C, C3, hs, keys, keys_p, 1.0f);

    for (int64_t qb = qb0; qb < qb1; qb++) {
      const int64_t i0 = qb * kQueryBlock, i1 = std::min(T, i0 + kQueryBlock), nq = i1 - i0;
      gather_rows(Q, hsp, base + i0 * C3, C3, hs, nq, nq, S.scale);  // Q [nq, hsp] = scale * q
      for (int64_t r = 0; r < nq; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
      }
      std::memset(O, 0, sizeof(float) * nq * hsp);
      for (int64_t j0 = 0; j0 < i1; j0 += kKeyBlock) {
        const int64_t nk = std::min(kKeyBlock, i1 - j0);
        combine<W>(P, kKeyBlock, false, Q, hsp, 1, KT + j0, keys_p, nq, hs, kKeyBlock);  // S = Q K^T
        for (int64_t r = 0; r < nq; r++) {
          float* prow = P + r * kKeyBlock;
          const int64_t valid = std::min(nk, i0 + r - j0 + 1);
          const float mx = masked_row_max<W>(prow, valid);
          const float m_new = mx > m[r] ? mx : m[r];
          const float correction = exp_scalar(m[r] - m_new);
          l[r] = l[r] * correction + exp_row<W>(prow, valid, m_new);
          m[r] = m_new;
          float* o = O + r * hsp;
          const vf<W> cv = broadcast<W>(correction);
          for (int64_t d = 0; d < hsp; d += W) store<W>(o + d, load<W>(o + d) * cv);
        }
        combine<W>(O, hsp, true, P, kKeyBlock, 1, V + j0 * hsp, hsp, nq, nk, hsp);  // O += P V
      }
      for (int64_t r = 0; r < nq; r++) {
        float* y = out + (b * T + i0 + r) * C + h * hs;
        const float inv = 1.0f / l[r];
        const float* o = O + r * hsp;
        for (int64_t d = 0; d < hs; d++) y[d] = o[d] * inv;
        lse[(b * S.NH + h) * T + i0 + r] = attention_lse(m[r], l[r]);
      }
    }
  }
};

// ---- backward: one task = (b, h, group of key blocks) ---------------------------------------
// With p[i, j] = exp(s[i, j] - lse_i), s = scale q_i . k_j, and D_i = dout_i . out_i:
//   dv_j = sum_i p[i, j] dout_i;   ds[i, j] = p[i, j] (dout_i . v_j - D_i)
//   dq_i = scale sum_j ds[i, j] k_j;   dk_j = scale sum_i ds[i, j] q_i
// Keys go in blocks (outer loop), queries in blocks from the diagonal on (inner); each pair
// forms P and dS [nq, nk] in scratch and adds three products into dQ, dK, dV. A task owns the
// key blocks g, g + groups, g + 2 groups, ... of its head: it writes their dk, dv rows, and its
// dq contribution goes straight to dqkv (groups == 1) or to dq_partial [B, NH, groups, T, hs]
// for attention_backward to add up in group order.
struct AttentionBackwardTask {
  template <int W>
  TF_SIMD_INLINE static void run(float* dqkv, float* dq_partial, const float* dout, const float* qkv, const float* out,
                                 const float* lse, const Shape* shape, int64_t groups, int64_t task) {
    const Shape& S = *shape;
    const int64_t T = S.T, C = S.C, hs = S.hs, hsp = round_up(hs, W), C3 = 3 * C;
    const int64_t Tp = round_up(T, kKeyBlock);
    const int64_t g = task % groups, h = task / groups % S.NH, b = task / groups / S.NH;
    const float* base = qkv + b * T * C3 + h * hs;

    float* Q = scratch(static_cast<size_t>(6 * Tp * hsp + 2 * hs * Tp + 2 * Tp + 2 * kQueryBlock * kKeyBlock));
    float* K = Q + Tp * hsp;    // [Tp, hsp] keys
    float* dO = K + Tp * hsp;   // [Tp, hsp] output gradient
    float* dQ = dO + Tp * hsp;  // [Tp, hsp] accumulated sum_j ds k_j
    float* dK = dQ + Tp * hsp;  // [Tp, hsp]
    float* dV = dK + Tp * hsp;  // [Tp, hsp]
    float* KT = dV + Tp * hsp;  // [hs, Tp] keys transposed
    float* VT = KT + hs * Tp;   // [hs, Tp] values transposed
    float* D = VT + hs * Tp;    // [Tp] dout_i . out_i
    float* L = D + Tp;          // [Tp] lse
    float* P = L + Tp;          // [kQueryBlock, kKeyBlock] scores, then probabilities
    float* dS = P + kQueryBlock * kKeyBlock;  // [kQueryBlock, kKeyBlock] dp, then ds

    const float scale = S.scale;
    gather_rows(Q, hsp, base, C3, hs, T, Tp, scale);
    gather_rows(K, hsp, base + C, C3, hs, T, Tp, 1.0f);
    gather_rows(dO, hsp, dout + b * T * C + h * hs, C, hs, T, Tp, 1.0f);
    gather_rows(dQ, hsp, out + b * T * C + h * hs, C, hs, T, Tp, 1.0f);  // out rows, for D
    for (int64_t t = 0; t < T; t++) {
      float dd = 0.0f;
      for (int64_t d = 0; d < hs; d++) dd += dO[t * hsp + d] * dQ[t * hsp + d];
      D[t] = dd;
      L[t] = lse[(b * S.NH + h) * T + t];
    }
    gather_rows(dV, hsp, base + 2 * C, C3, hs, T, Tp, 1.0f);  // v rows, for VT
    std::memset(KT, 0, sizeof(float) * 2 * hs * Tp);
    transpose_rows(KT, Tp, K, hsp, hs, T);
    transpose_rows(VT, Tp, dV, hsp, hs, T);
    std::memset(dQ, 0, sizeof(float) * 3 * Tp * hsp);  // dQ, dK, dV

    for (int64_t j0 = g * kKeyBlock; j0 < T; j0 += groups * kKeyBlock) {
      const int64_t nk = std::min(kKeyBlock, T - j0);
      for (int64_t i0 = j0; i0 < T; i0 += kQueryBlock) {
        const int64_t nq = std::min(kQueryBlock, T - i0);
        combine<W>(P, kKeyBlock, false, Q + i0 * hsp, hsp, 1, KT + j0, Tp, nq, hs, kKeyBlock);    // S
        combine<W>(dS, kKeyBlock, false, dO + i0 * hsp, hsp, 1, VT + j0, Tp, nq, hs, kKeyBlock);  // dP
        for (int64_t r = 0; r < nq; r++) {
          float* prow = P + r * kKeyBlock;
          float* dsrow = dS + r * kKeyBlock;
          exp_row<W>(prow, std::min(nk, i0 + r - j0 + 1), L[i0 + r]);
          const vf<W> Di = broadcast<W>(D[i0 + r]);
          for (int64_t c = 0; c < kKeyBlock; c += W)
            store<W>(dsrow + c, attention_ds(load<W>(prow + c), load<W>(dsrow + c), Di));  // ds = p (dp - D)
        }
        // dV[j] += sum_i P[i, j] dO[i];  dK[j] += sum_i dS[i, j] Q[i];  dQ[i] += sum_j dS[i, j] K[j]
        combine<W>(dV + j0 * hsp, hsp, true, P, 1, kKeyBlock, dO + i0 * hsp, hsp, nk, nq, hsp);
        combine<W>(dK + j0 * hsp, hsp, true, dS, 1, kKeyBlock, Q + i0 * hsp, hsp, nk, nq, hsp);
        combine<W>(dQ + i0 * hsp, hsp, true, dS, kKeyBlock, 1, K + j0 * hsp, hsp, nq, nk, hsp);
      }
    }

    for (int64_t t = 0; t < T; t++) {
      float* dq = dqkv + (b * T + t) * C3 + h * hs;
      const float* gq = dQ + t * hsp;
      if (groups == 1) {
        for (int64_t d = 0; d < hs; d++) dq[d] = gq[d] * scale;
      } else {
        std::memcpy(dq_partial + (task * T + t) * hs, gq, sizeof(float) * hs);
      }
      if (t / kKeyBlock % groups == g) {
        std::memcpy(dq + C, dK + t * hsp, sizeof(float) * hs);
        std::memcpy(dq + 2 * C, dV + t * hsp, sizeof(float) * hs);
      }
    }
  }
};

// Splits each head's 64-row blocks into groups (one task each) so that there are at least
// 4 tasks per thread when heads alone are too few: 1 when B * NH >= 4 * threads.
int64_t task_groups(int64_t heads, int64_t T) {
  const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
  const int64_t wanted = 4 * static_cast<int64_t>(num_threads());
  return std::min(blocks, std::max<int64_t>(1, (wanted + heads - 1) / heads));
}

Shape make_shape(int64_t B, int64_t T, int64_t C, int64_t NH) {
  Shape s{B, T, C, NH, C / NH, 0.0f};
  s.scale = 1.0f / std::sqrt(static_cast<float>(s.hs));
  return s;
}



// out [B, T, C], lse [B, NH, T], qkv [B, T, 3C]                            writes out, lse
// Tasks are (b, h, group of query blocks of 64 rows). With B * NH >= 4 * threads a group is
// the whole sequence (each head's keys and values are gathered once); with fewer heads per
// thread the query blocks are split into more groups so that every thread has work.
// out[rows, C] += head_shift[C] per row (the inference-time intervention on head outputs)
void add_head_shift(float* out, const float* head_shift, int64_t rows, int64_t C) {
  parallel_range(static_cast<size_t>(rows), 64, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; r++) {
      float* row = out + static_cast<int64_t>(r) * C;
      for (int64_t c = 0; c < C; c++) row[c] += head_shift[c];
    }
  });
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C, int64_t NH,
                       const float* head_shift) {
  const Shape shape = make_shape(B, T, C, NH);
  const int64_t groups = task_groups(B * NH, T);
  pool()->parallel_for(static_cast<size_t>(B * NH * groups), [&](size_t task) {
    dispatch<AttentionForwardTask>(out, lse, qkv, &shape, groups, static_cast<int64_t>(task));
  });
  if (head_shift != nullptr) add_head_shift(out, head_shift, B * T, C);
}

// out [n, C] (written), q [n, C] rows q_stride apart, k_cache / v_cache [p0 + n, C]. One task per
// (query, head): scores against every visible key, a max-subtracted softmax, the weighted sum of
// values. Plain loops: decoding reads each cached key once per new token.
void attention_decode(float* out, const float* q, int64_t q_stride, const float* k_cache, const float* v_cache,
                      int64_t p0, int64_t n, int64_t C, int64_t NH, const float* head_shift) {
  const Shape shape = make_shape(1, p0 + n, C, NH);
  const int64_t hs = shape.hs;
  parallel_range(static_cast<size_t>(n * NH), 1, [&](size_t begin, size_t end) {
    std::vector<float> p(static_cast<size_t>(p0 + n));
    for (size_t task = begin; task < end; task++) {
      const int64_t i = static_cast<int64_t>(task) / NH, h = static_cast<int64_t>(task) % NH;
      const int64_t keys = p0 + i + 1;
      const float* qi = q + i * q_stride + h * hs;
      float max = -INFINITY;
      for (int64_t j = 0; j < keys; j++) {
        const float* kj = k_cache + j * C + h * hs;
        float dot = 0.0f;
        for (int64_t d = 0; d < hs; d++) dot += qi[d] * kj[d];
        p[j] = dot * shape.scale;
        max = std::max(max, p[j]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < keys; j++) sum += (p[j] = std::exp(p[j] - max));
      float* o = out + i * C + h * hs;
      for (int64_t d = 0; d < hs; d++) o[d] = 0.0f;
      for (int64_t j = 0; j < keys; j++) {
        const float w = p[j] / sum;
        const float* vj = v_cache + j * C + h * hs;
        for (int64_t d = 0; d < hs; d++) o[d] += w * vj[d];
      }
    }
  });
  if (head_shift != nullptr) add_head_shift(out, head_shift, n, C);
}

// dqkv [B, T, 3C] (written), dout [B, T, C], qkv [B, T, 3C], out [B, T, C], lse [B, NH, T]
// Tasks are (b, h, group of key blocks), groups as in the forward. With one group a task owns
// its head's slice of dqkv; with more, dk and dv rows still have one owner each and dq is the
// in-order sum of the groups' partials.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t C, int64_t NH) {
  const Shape shape = make_shape(B, T, C, NH);
  const int64_t groups = task_groups(B * NH, T);
  std::vector<float> dq_partial(groups > 1 ? static_cast<size_t>(B * NH * groups * T * shape.hs) : 0);
  float* partial = dq_partial.data();
  pool()->parallel_for(static_cast<size_t>(B * NH * groups), [&](size_t task) {
    dispatch<AttentionBackwardTask>(dqkv, partial, dout, qkv, out, lse, &shape, groups, static_cast<int64_t>(task));
  });
  if (groups == 1) return;
  // dq[b, t, h] = scale * sum over groups in order of the partials
  const int64_t hs = shape.hs;
  parallel_range(static_cast<size_t>(B * NH * T), 64, [&](size_t begin, size_t end) {
    for (size_t row = begin; row < end; row++) {
      const int64_t t = static_cast<int64_t>(row) % T, bh = static_cast<int64_t>(row) / T;
      float* dq = dqkv + ((bh / NH) * T + t) * 3 * C + (bh % NH) * hs;
      for (int64_t d = 0; d < hs; d++) {
        float sum = 0.0f;
        for (int64_t g = 0; g < groups; g++) sum += partial[((bh * groups + g) * T + t) * hs + d];
        dq[d] = sum * shape.scale;
      }
    }
  });
}

}  // namespace tf
