// Element math of AdamW (decoupled weight decay), shared by CPU kernels and a CUDA backend.
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

// Per-call constants: bias corrections 1 - beta^step folded into the step size.
struct AdamWConstants {
  float lr, beta1, beta2, eps, weight_decay, grad_scale;
  float inv_bias1;       // 1 / (1 - beta1^step)
  float inv_sqrt_bias2;  // 1 / sqrt(1 - beta2^step)
};

inline AdamWConstants adamw_constants(float lr, float beta1, float beta2, float eps, float weight_decay,
                                      long long step, float grad_scale) {
  AdamWConstants k;
  k.lr = lr;
  k.beta1 = beta1;
  k.beta2 = beta2;
  k.eps = eps;
  k.weight_decay = weight_decay;
  k.grad_scale = grad_scale;
  double s = static_cast<double>(step);
  k.inv_bias1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(beta1), s)));
  k.inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(beta2), s)));
  return k;
}

// One parameter: g = grad * grad_scale; m, v moments updated in place;
// param -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * param).
TF_HOST_DEVICE inline void adamw_element(float& param, float grad, float& m, float& v, const AdamWConstants& k) {
  float g = grad * k.grad_scale;
  m = k.beta1 * m + (1.0f - k.beta1) * g;
  v = k.beta2 * v + (1.0f - k.beta2) * g * g;
  float mhat = m * k.inv_bias1;
  float denom = sqrtf(v) * k.inv_sqrt_bias2 + k.eps;
  param -= k.lr * (mhat / denom + k.weight_decay * param);
}

}  // namespace tf
