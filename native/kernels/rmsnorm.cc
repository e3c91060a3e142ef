// RMSNorm with a learned gain and no bias.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/rmsnorm_math.h"

namespace tf {

// out [N, C], rstd [N] (saved for backward), inp [N, C], weight [C]         writes out, rstd
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps) {
  parallel_range(static_cast<size_t>(N), 8, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float* x = inp + i * C;
      float* o = out + i * C;
      float ss = 0.0f;
      for (int64_t j = 0; j < C; j++) ss += x[j] * x[j];
      float r = rmsnorm_rstd(ss, static_cast<float>(C), eps);
      for (int64_t j = 0; j < C; j++) o[j] = x[j] * r * weight[j];
      rstd[i] = r;
    }
  });
}

// dinp [N, C] += ..., dweight [C] += sum_i dout[i, :] * inp[i, :] * rstd[i]   accumulates both
// Rows are cut into fixed blocks (independent of the thread count); each block sums its
// dweight partial, and the partials are added in block order: bit-identical for any thread count.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C) {
  const int64_t rows_per_block = 32;
  const int64_t blocks = (N + rows_per_block - 1) / rows_per_block;
  std::vector<float> partial(static_cast<size_t>(blocks * C), 0.0f);
  pool()->parallel_for(static_cast<size_t>(blocks), [&](size_t b) {
    float* dw = partial.data() + b * C;
    int64_t r0 = static_cast<int64_t>(b) * rows_per_block;
    int64_t r1 = std::min(N, r0 + rows_per_block);
    for (int64_t i = r0; i < r1; i++) {
      const float* x = inp + i * C;
      const float* g = dout + i * C;
      float* dx = dinp + i * C;
      float r = rstd[i];
      float dot = 0.0f;
      for (int64_t j = 0; j < C; j++) dot += g[j] * weight[j] * x[j];
      float coef = rmsnorm_backward_coef(dot, r, static_cast<float>(C));
      for (int64_t j = 0; j < C; j++) {
        dx[j] += rmsnorm_dinp(g[j], weight[j], x[j], r, coef);
        dw[j] += g[j] * x[j] * r;
      }
    }
  });
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t j = 0; j < C; j++) dweight[j] += partial[b * C + j];
}

}  // namespace tf
