// ReLU² activation: out = max(x, 0)^2.
#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace tf {

// out [n] = max(inp, 0)^2                                                  writes out
void relu2_forward(float* out, const float* inp, int64_t n) {
  parallel_range(static_cast<size_t>(n), 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      float r = inp[i] > 0.0f ? inp[i] : 0.0f;
      out[i] = r * r;
    }
  });
}

// dinp [n] = dout * 2 * max(inp, 0)                                        writes dinp
void relu2_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallel_range(static_cast<size_t>(n), 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      float r = inp[i] > 0.0f ? inp[i] : 0.0f;
      dinp[i] = 2.0f * r * dout[i];
    }
  });
}

}  // namespace tf
