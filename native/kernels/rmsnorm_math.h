// Element math of RMSNorm, shared by the CPU kernels and a future CUDA backend.
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

// rstd = 1 / sqrt(sum_sq / C + eps) for one row of C elements whose squares sum to sum_sq.
TF_HOST_DEVICE inline float rmsnorm_rstd(float sum_sq, float C, float eps) {
  return 1.0f / sqrtf(sum_sq / C + eps);
}

// Gradient of out_j = x_j * rstd * w_j with respect to x_j:
//   dx_j = rstd * (w_j * dout_j - x_j * coef),  coef = rstd^2 / C * sum_k dout_k * w_k * x_k
// rmsnorm_backward_coef turns the row's dot product sum_k dout_k * w_k * x_k into coef.
TF_HOST_DEVICE inline float rmsnorm_backward_coef(float dot, float rstd, float C) { return rstd * rstd * dot / C; }
TF_HOST_DEVICE inline float rmsnorm_dinp(float dout, float w, float x, float rstd, float coef) {
  return rstd * (w * dout - x * coef);
}

}  // namespace tf
