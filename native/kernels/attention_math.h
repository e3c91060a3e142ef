// Element math of causal attention shared by the CPU kernel (attention.cc) and the CUDA one
// (native/cuda/attention.cu). With p = exp(s - lse) a probability, dp = dout_i . v_j and
// D_i = dout_i . out_i, the score gradient is ds = p (dp - D); T is a float or a SIMD vector.
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

template <typename T>
TF_HOST_DEVICE inline T attention_ds(T p, T dp, T D) {
  return p * (dp - D);
}

// Log-sum-exp of a row's scaled scores from its running max m and sum l of exp(s - m).
TF_HOST_DEVICE inline float attention_lse(float m, float l) { return m + logf(l); }

}  // namespace tf
