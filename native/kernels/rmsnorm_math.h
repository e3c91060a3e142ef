// Element math of RMSNorm, shared by the CPU kernels (rmsnorm.cc) and the CUDA ones (native/cuda/rmsnorm.cu).
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

// rstd = 1 / sqrt(sum_sq / C + eps) for one row of C elements whose squares sum to sum_sq.
TF_HOST_DEVICE inline float rmsnorm_rstd(float sum_sq, float C, float eps) {
  return 1.0f / sqrtf(sum_sq / C + eps);
}

// out_j = x_j * rstd * w_j
TF_HOST_DEVICE inline float rmsnorm_out(float x, float rstd, float w) { return x * rstd * w; }
// Row i's term of dweight_j = sum_i dout_ij * x_ij * rstd_i
TF_HOST_DEVICE inline float rmsnorm_dweight_term(float dout, float x, float rstd) { return dout * x * rstd; }

// Gradient of out_j = x_j * rstd * w_j with respect to x_j:
//   dx_j = rstd * (w_j * dout_j - x_j * coef),  coef = rstd^2 / C * sum_k dout_k * w_k * x_k
// rmsnorm_backward_coef turns the row's dot product sum_k dout_k * w_k * x_k into coef.
TF_HOST_DEVICE inline float rmsnorm_backward_coef(float dot, float rstd, float C) { return rstd * rstd * dot / C; }
TF_HOST_DEVICE inline float rmsnorm_dinp(float dout, float w, float x, float rstd, float coef) {
  return rstd * (w * dout - x * coef);
}

}  // namespace tf
