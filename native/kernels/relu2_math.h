// Element math of the ReLU² activation, shared by the CPU kernels (relu2.cc) and the CUDA ones.
#pragma once
#include "core/host_device.h"

namespace tf {

// From the rectified value r = max(x, 0) (a float or a SIMD vector of floats):
// out = r^2, and d out / d x times dout = 2 r dout.
template <typename T>
TF_HOST_DEVICE inline T relu2_of_rectified(T r) {
  return r * r;
}
template <typename T>
TF_HOST_DEVICE inline T relu2_grad_of_rectified(T r, T dout) {
  return 2.0f * r * dout;
}

// out = max(x, 0)^2
TF_HOST_DEVICE inline float relu2(float x) { return relu2_of_rectified(x > 0.0f ? x : 0.0f); }
// d out / d x times dout = 2 max(x, 0) dout
TF_HOST_DEVICE inline float relu2_grad(float x, float dout) { return relu2_grad_of_rectified(x > 0.0f ? x : 0.0f, dout); }

}  // namespace tf
