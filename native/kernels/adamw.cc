// AdamW over one flat parameter range (the model's parameters are one contiguous block).
#include "core/thread_pool.h"
#include "kernels/adamw_math.h"
#include "kernels/ops.h"

namespace tf {

// params, grads, m, v [n]; m, v, params updated in place
void adamw_update(float* params, const float* grads, float* m, float* v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int64_t step, float grad_scale) {
  const AdamWConstants k = adamw_constants(lr, beta1, beta2, eps, weight_decay, step, grad_scale);
  parallel_range(static_cast<size_t>(n), 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) adamw_element(params[i], grads[i], m[i], v[i], k);
  });
}

}  // namespace tf
