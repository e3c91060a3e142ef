// Causal multi-head self-attention with a streaming (online) softmax: no [T, T] matrix is kept.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace tf {

// out [B, T, C], lse [B, NH, T], qkv [B, T, 3C]                            writes out, lse
void attention_forward(float* out, float* lse, const float* qkv, int64_t B, int64_t T, int64_t C, int64_t NH) {
  const int64_t hs = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const int64_t C3 = 3 * C;
  parallel_range(static_cast<size_t>(B * NH * T), 16, [&](size_t begin, size_t end) {
    std::vector<float> acc(static_cast<size_t>(hs));
    for (size_t task = begin; task < end; task++) {
      int64_t t = static_cast<int64_t>(task) % T;
      int64_t h = static_cast<int64_t>(task) / T % NH;
      int64_t b = static_cast<int64_t>(task) / T / NH;
      const float* q = qkv + (b * T + t) * C3 + h * hs;
      float m = -INFINITY, l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t s = 0; s <= t; s++) {
        const float* k = qkv + (b * T + s) * C3 + C + h * hs;
        const float* v = k + C;
        float score = 0.0f;
        for (int64_t d = 0; d < hs; d++) score += q[d] * k[d];
        score *= scale;
        float m_new = score > m ? score : m;
        float correction = std::exp(m - m_new);
        float p = std::exp(score - m_new);
        l = l * correction + p;
        for (int64_t d = 0; d < hs; d++) acc[d] = acc[d] * correction + p * v[d];
        m = m_new;
      }
      float* o = out + (b * T + t) * C + h * hs;
      for (int64_t d = 0; d < hs; d++) o[d] = acc[d] / l;
      lse[(b * NH + h) * T + t] = m + std::log(l);
    }
  });
}

// dqkv [B, T, 3C] (written), dout [B, T, C], qkv [B, T, 3C], out [B, T, C], lse [B, NH, T]
// With p[t, s] = exp(scale * q_t.k_s - lse_t) and D_t = dout_t . out_t:
//   dv_s += p[t, s] dout_t;  ds = p[t, s] (dout_t . v_s - D_t);
//   dq_t += scale ds k_s;    dk_s += scale ds q_t
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t C, int64_t NH) {
  const int64_t hs = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const int64_t C3 = 3 * C;
  pool()->parallel_for(static_cast<size_t>(B * NH), [&](size_t task) {
    int64_t h = static_cast<int64_t>(task) % NH;
    int64_t b = static_cast<int64_t>(task) / NH;
    for (int64_t t = 0; t < T; t++) {
      float* dq = dqkv + (b * T + t) * C3 + h * hs;
      for (int64_t d = 0; d < hs; d++) dq[d] = dq[d + C] = dq[d + 2 * C] = 0.0f;
    }
    for (int64_t t = 0; t < T; t++) {
      const float* q = qkv + (b * T + t) * C3 + h * hs;
      const float* go = dout + (b * T + t) * C + h * hs;
      const float* o = out + (b * T + t) * C + h * hs;
      float* dq = dqkv + (b * T + t) * C3 + h * hs;
      float D = 0.0f;
      for (int64_t d = 0; d < hs; d++) D += go[d] * o[d];
      float l = lse[(b * NH + h) * T + t];
      for (int64_t s = 0; s <= t; s++) {
        const float* k = qkv + (b * T + s) * C3 + C + h * hs;
        const float* v = k + C;
        float* dk = dqkv + (b * T + s) * C3 + C + h * hs;
        float* dv = dk + C;
        float score = 0.0f, dp = 0.0f;
        for (int64_t d = 0; d < hs; d++) {
          score += q[d] * k[d];
          dp += go[d] * v[d];
        }
        float p = std::exp(score * scale - l);
        float ds = p * (dp - D) * scale;
        for (int64_t d = 0; d < hs; d++) {
          dv[d] += p * go[d];
          dq[d] += ds * k[d];
          dk[d] += ds * q[d];
        }
      }
    }
  });
}

}  // namespace tf
