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

// ---- forward: one task = (b, h, block of query rows) -----------------------------------------
// out [B, T, C], lse [B, NH, T], qkv [B, T, 3C]
// Per key block: S = Q K^T [nq, nk]; per row the running max m and sum l are updated and the
// accumulated output O is rescaled by exp(m_old - m_new); then O += P V.
struct AttentionForwardTask {
  template <int W>
  TF_SIMD_INLINE static void run(float* out, float* lse, const float* qkv, const Shape* shape, int64_t task) {
    const Shape& S = *shape;
    const int64_t T = S.T, C = S.C, hs = S.hs, hsp = round_up(hs, W), C3 = 3 * C;
    const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
    // biggest (last) query blocks first so the dynamic schedule ends with small tasks
    const int64_t qb = blocks - 1 - task % blocks;
    const int64_t h = task / blocks % S.NH, b = task / blocks / S.NH;
    const int64_t i0 = qb * kQueryBlock, i1 = std::min(T, i0 + kQueryBlock), nq = i1 - i0;
    const float* base = qkv + b * T * C3 + h * hs;

    float* Q = scratch(static_cast<size_t>(2 * kQueryBlock * hsp + 2 * kKeyBlock * hsp + kQueryBlock * kKeyBlock +
                                           2 * kQueryBlock));
    float* O = Q + kQueryBlock * hsp;   // [nq, hsp] unnormalised output
    float* KT = O + kQueryBlock * hsp;  // [hs, kKeyBlock] keys transposed
    float* Vb = KT + kKeyBlock * hsp;   // [kKeyBlock, hsp] values
    float* P = Vb + kKeyBlock * hsp;    // [nq, kKeyBlock] scores, then probabilities
    float* m = P + kQueryBlock * kKeyBlock;  // [nq] running max
    float* l = m + kQueryBlock;              // [nq] running sum of exp

    // Q [nq, hsp] = scale * q, zero padded
    for (int64_t r = 0; r < nq; r++) {
      const float* q = base + (i0 + r) * C3;
      for (int64_t d = 0; d < hs; d++) Q[r * hsp + d] = q[d] * S.scale;
      for (int64_t d = hs; d < hsp; d++) Q[r * hsp + d] = 0.0f;
      m[r] = -INFINITY;
      l[r] = 0.0f;
    }
    std::memset(O, 0, sizeof(float) * nq * hsp);

    for (int64_t j0 = 0; j0 < i1; j0 += kKeyBlock) {
      const int64_t nk = std::min(kKeyBlock, i1 - j0);
      for (int64_t c = 0; c < kKeyBlock; c++) {
        const float* k = base + (j0 + c) * C3 + C;
        for (int64_t d = 0; d < hs; d++) KT[d * kKeyBlock + c] = c < nk ? k[d] : 0.0f;
        float* v = Vb + c * hsp;
        for (int64_t d = 0; d < hsp; d++) v[d] = c < nk && d < hs ? k[C + d] : 0.0f;
      }
      combine<W>(P, kKeyBlock, false, Q, hsp, 1, KT, kKeyBlock, nq, hs, kKeyBlock);  // S = Q K^T
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
      combine<W>(O, hsp, true, P, kKeyBlock, 1, Vb, hsp, nq, nk, hsp);  // O += P V
    }
    for (int64_t r = 0; r < nq; r++) {
      float* y = out + (b * T + i0 + r) * C + h * hs;
      const float inv = 1.0f / l[r];
      for (int64_t d = 0; d < hs; d++) y[d] = O[r * hsp + d] * inv;
      lse[(b * S.NH + h) * T + i0 + r] = m[r] + std::log(l[r]);
    }
  }
};

// ---- backward: one task = (b, h) ------------------------------------------------------------
// With p[i, j] = exp(s[i, j] - lse_i), s = scale q_i . k_j, and D_i = dout_i . out_i:
//   dv_j = sum_i p[i, j] dout_i;   ds[i, j] = p[i, j] (dout_i . v_j - D_i)
//   dq_i = scale sum_j ds[i, j] k_j;   dk_j = scale sum_i ds[i, j] q_i
// Keys go in blocks (outer loop), queries in blocks from the diagonal on (inner); each pair
// forms P and dS [nq, nk] in scratch and adds three products into dQ, dK, dV.
struct AttentionBackwardTask {
  template <int W>
  TF_SIMD_INLINE static void run(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                                 const Shape* shape, int64_t task) {
    const Shape& S = *shape;
    const int64_t T = S.T, C = S.C, hs = S.hs, hsp = round_up(hs, W), C3 = 3 * C;
    const int64_t Tp = round_up(T, kKeyBlock);
    const int64_t h = task % S.NH, b = task / S.NH;
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

    std::memset(Q, 0, sizeof(float) * (6 * Tp * hsp + 2 * hs * Tp));
    for (int64_t t = 0; t < T; t++) {
      const float* q = base + t * C3;
      const float* k = q + C;
      const float* v = q + 2 * C;
      const float* go = dout + (b * T + t) * C + h * hs;
      const float* o = out + (b * T + t) * C + h * hs;
      float dd = 0.0f;
      for (int64_t d = 0; d < hs; d++) {
        Q[t * hsp + d] = q[d] * S.scale;
        K[t * hsp + d] = k[d];
        KT[d * Tp + t] = k[d];
        VT[d * Tp + t] = v[d];
        dO[t * hsp + d] = go[d];
        dd += go[d] * o[d];
      }
      D[t] = dd;
      L[t] = lse[(b * S.NH + h) * T + t];
    }

    for (int64_t j0 = 0; j0 < T; j0 += kKeyBlock) {
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
            store<W>(dsrow + c, load<W>(prow + c) * (load<W>(dsrow + c) - Di));  // ds = p (dp - D)
        }
        // dV[j] += sum_i P[i, j] dO[i];  dK[j] += sum_i dS[i, j] Q[i];  dQ[i] += sum_j dS[i, j] K[j]
        combine<W>(dV + j0 * hsp, hsp, true, P, 1, kKeyBlock, dO + i0 * hsp, hsp, nk, nq, hsp);
        combine<W>(dK + j0 * hsp, hsp, true, dS, 1, kKeyBlock, Q + i0 * hsp, hsp, nk, nq, hsp);
        combine<W>(dQ + i0 * hsp, hsp, true, dS, kKeyBlock, 1, K + j0 * hsp, hsp, nq, nk, hsp);
      }
    }

    for (int64_t t = 0; t < T; t++) {
      float* dq = dqkv + (b * T + t) * C3 + h * hs;
      for (int64_t d = 0; d < hs; d++) {
        dq[d] = dQ[t * hsp + d] * S.scale;
        dq[C + d] = dK[t * hsp + d];
        dq[2 * C + d] = dV[t * hsp + d];
      }
    }
  }
};

Shape make_shape(int64_t B, int64_t T, int64_t C, int64_t NH) {
  Shape s{B, T, C, NH, C / NH, 0.0f};
  s.scale = 1.0f / std::sqrt(static_cast<float>(s.hs));
  return s;
}

}  // namespace

// out [B, T, C], lse [B, NH, T], qkv [B, T, 3C]                            writes out, lse
// Tasks are (b, h, query block): B * NH * ceil(T / 64) of them.
void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C, int64_t NH) {
  const Shape shape = make_shape(B, T, C, NH);
  const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
  pool()->parallel_for(static_cast<size_t>(B * NH * blocks), [&](size_t task) {
    dispatch<AttentionForwardTask>(out, lse, qkv, &shape, static_cast<int64_t>(task));
  });
}

// dqkv [B, T, 3C] (written), dout [B, T, C], qkv [B, T, 3C], out [B, T, C], lse [B, NH, T]
// Tasks are (b, h): each owns its head's slice of dqkv, so no reduction crosses tasks.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t C, int64_t NH) {
  const Shape shape = make_shape(B, T, C, NH);
  pool()->parallel_for(static_cast<size_t>(B * NH), [&](size_t task) {
    dispatch<AttentionBackwardTask>(dqkv, dout, qkv, out, lse, &shape, static_cast<int64_t>(task));
  });
}

}  // namespace tf
