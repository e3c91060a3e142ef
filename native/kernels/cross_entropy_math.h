// Element math of the fused softmax + cross-entropy, shared by the CPU kernel
// (cross_entropy.cc) and the CUDA kernel (native/cuda/cross_entropy.cu).
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

// Loss of one row from its max logit, its sum of exp(x - max) and its target's logit:
//   -log softmax(x)[target] = max + log(sum_exp) - x[target]   (in double)
TF_HOST_DEVICE inline double cross_entropy_row_loss(float max_logit, double sum_exp, float target_logit) {
  return static_cast<double>(max_logit) + log(sum_exp) - static_cast<double>(target_logit);
}

// The factor that turns exp(x - max) into the scaled softmax: dloss_scale / sum_exp; the
// gradient of the row is exp(x - max) * factor, minus dloss_scale at the target.
TF_HOST_DEVICE inline float cross_entropy_grad_factor(float dloss_scale, double sum_exp) {
  return static_cast<float>(dloss_scale / sum_exp);
}

}  // namespace tf
