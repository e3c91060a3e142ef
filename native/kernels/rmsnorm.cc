// RMSNorm with a learned gain and no bias, vectorised along the row (simd::dispatch).
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/rmsnorm_math.h"
#include "kernels/simd.h"

namespace tf {

namespace {

using namespace simd;

// sum_j a[j] * b[j] * c[j] (c may be nullptr: sum_j a[j] * b[j]) over n elements, with four
// vector accumulators; the lane and tail order is fixed, so results are reproducible.
template <int W>
TF_SIMD_INLINE float dot_row(const float* a, const float* b, const float* c, int64_t n) {
  vf<W> acc[4] = {};
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W)
    for (int u = 0; u < 4; u++) {
      vf<W> t = load<W>(a + j + u * W) * load<W>(b + j + u * W);
      acc[u] += c ? t * load<W>(c + j + u * W) : t;
    }
  float s = hsum<W>((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (; j < n; j++) s += c ? a[j] * b[j] * c[j] : a[j] * b[j];
  return s;
}

// rows [begin, end): out[i, :] = inp[i, :] * rstd[i] * weight
struct RmsnormForwardRows {
  template <int W>
  TF_SIMD_INLINE static void run(float* out, float* rstd, const float* inp, const float* weight, int64_t C, float eps,
                                 size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float* x = inp + i * C;
      float* o = out + i * C;
      const float r = rmsnorm_rstd(dot_row<W>(x, x, nullptr, C), static_cast<float>(C), eps);
      for (int64_t j = 0; j < C; j++) o[j] = rmsnorm_out(x[j], r, weight[j]);
      rstd[i] = r;
    }
  }
};

// rows [r0, r1): dinp[i, :] += ..., dw[:] += dout * inp * rstd (dw is the block's partial)
struct RmsnormBackwardRows {
  template <int W>
  TF_SIMD_INLINE static void run(float* dinp, float* dw, const float* dout, const float* inp, const float* weight,
                                 const float* rstd, int64_t C, int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; i++) {
      const float* x = inp + i * C;
      const float* g = dout + i * C;
      float* dx = dinp + i * C;
      const float r = rstd[i];
      const float coef = rmsnorm_backward_coef(dot_row<W>(g, weight, x, C), r, static_cast<float>(C));
      for (int64_t j = 0; j < C; j++) {
        dx[j] += rmsnorm_dinp(g[j], weight[j], x[j], r, coef);
        dw[j] += rmsnorm_dweight_term(g[j], x[j], r);
      }
    }
  }
};

struct AddRows {
  template <int W>
  TF_SIMD_INLINE static void run(float* dst, const float* rows, int64_t count, int64_t C) {
    for (int64_t b = 0; b < count; b++)
      for (int64_t j = 0; j < C; j++) dst[j] += rows[b * C + j];
  }
};

}  // namespace

// out [N, C], rstd [N] (saved for backward), inp [N, C], weight [C]         writes out, rstd
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps) {
  parallel_range(static_cast<size_t>(N), 16, [&](size_t begin, size_t end) {
    dispatch<RmsnormForwardRows>(out, rstd, inp, weight, C, eps, begin, end);
  });
}

// dinp [N, C] += ..., dweight [C] += sum_i dout[i, :] * inp[i, :] * rstd[i]   accumulates both
// With coef_i = rstd_i^2 / C * sum_k dout[i, k] weight[k] inp[i, k]:
//   dinp[i, j] += rstd_i * (weight[j] dout[i, j] - inp[i, j] coef_i)
// Rows are cut into fixed blocks (independent of the thread count); each block sums its
// dweight partial, and the partials are added in block order: bit-identical for any thread count.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C) {
  const int64_t rows_per_block = 32;
  const int64_t blocks = (N + rows_per_block - 1) / rows_per_block;
  std::vector<float> partial(static_cast<size_t>(blocks * C), 0.0f);
  pool()->parallel_for(static_cast<size_t>(blocks), [&](size_t b) {
    int64_t r0 = static_cast<int64_t>(b) * rows_per_block;
    dispatch<RmsnormBackwardRows>(dinp, partial.data() + b * C, dout, inp, weight, rstd, C, r0,
                                  std::min(N, r0 + rows_per_block));
  });
  dispatch<AddRows>(dweight, static_cast<const float*>(partial.data()), blocks, C);
}

}  // namespace tf
