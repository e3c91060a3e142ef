// Element math of the ReLU² activation, shared by the CPU kernels and a CUDA backend.
#pragma once
#include "core/host_device.h"

namespace tf {

// out = max(x, 0)^2
TF_HOST_DEVICE inline float relu2(float x) {
  float r = x > 0.0f ? x : 0.0f;
  return r * r;
}
// d out / d x times dout = 2 max(x, 0) dout
TF_HOST_DEVICE inline float relu2_grad(float x, float dout) {
  float r = x > 0.0f ? x : 0.0f;
  return 2.0f * r * dout;
}

}  // namespace tf
