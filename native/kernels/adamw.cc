// AdamW over one flat parameter range (the model's parameters are one contiguous block).
// The element loop is vectorised by the compiler inside each dispatched variant.
#include "core/thread_pool.h"
#include "kernels/adamw_math.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace tf {

namespace {

struct AdamWRange {
  template <int W>
  TF_SIMD_INLINE static void run(float* params, const float* grads, float* m, float* v, const AdamWConstants* k,
                                 size_t begin, size_t end) {
    const AdamWConstants c = *k;
    for (size_t i = begin; i < end; i++) adamw_element(params[i], grads[i], m[i], v[i], c);
  }
};

}  // namespace

// params, grads, m, v [n]; m, v, params updated in place
void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t step, float grad_scale) {
  const AdamWConstants k = adamw_constants(lr, beta1, beta2, eps, weight_decay, step, grad_scale);
  parallel_range(static_cast<size_t>(n), 1 << 15, [&](size_t begin, size_t end) {
    simd::dispatch<AdamWRange>(params, grads, m, v, &k, begin, end);
  });
}

}  // namespace tf
