// ReLU² activation: out = max(x, 0)^2, vectorised with simd.h (tails use relu2_math.h).
#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/relu2_math.h"
#include "kernels/simd.h"

namespace tf {

namespace {

struct Relu2Forward {
  template <int W>
  TF_SIMD_INLINE static void run(float* out, const float* inp, size_t begin, size_t end) {
    size_t i = begin;
    for (; i + W <= end; i += W) {
      const simd::vf<W> r = simd::vmax<W>(simd::load<W>(inp + i), simd::vf<W>{});
      simd::store<W>(out + i, relu2_of_rectified(r));
    }
    for (; i < end; i++) out[i] = relu2(inp[i]);
  }
};

struct Relu2Backward {
  template <int W>
  TF_SIMD_INLINE static void run(float* dinp, const float* dout, const float* inp, size_t begin, size_t end) {
    size_t i = begin;
    for (; i + W <= end; i += W) {
      const simd::vf<W> r = simd::vmax<W>(simd::load<W>(inp + i), simd::vf<W>{});
      simd::store<W>(dinp + i, relu2_grad_of_rectified(r, simd::load<W>(dout + i)));
    }
    for (; i < end; i++) dinp[i] = relu2_grad(inp[i], dout[i]);
  }
};

constexpr size_t kGrain = 1 << 15;

}  // namespace

// out [n] = max(inp, 0)^2                                                  writes out
void relu2_forward(float* out, const float* inp, int64_t n) {
  parallel_range(static_cast<size_t>(n), kGrain, [&](size_t begin, size_t end) {
    simd::dispatch<Relu2Forward>(out, inp, begin, end);
  });
}

// dinp [n] = dout * 2 * max(inp, 0)                                        writes dinp
void relu2_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallel_range(static_cast<size_t>(n), kGrain, [&](size_t begin, size_t end) {
    simd::dispatch<Relu2Backward>(dinp, dout, inp, begin, end);
  });
}

}  // namespace tf
