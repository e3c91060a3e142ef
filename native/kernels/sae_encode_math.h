// Element math of SAE encoding (JumpReLU form), shared by the CPU encoder
// (native/models/sae.cc, sae_encode_selected) and the CUDA one (native/cuda/sae_encode.cu).
#pragma once
#include "core/host_device.h"

namespace tf {

// A latent's code from its pre-activation (x·w + bias) and threshold: the pre-activation when
// it exceeds the threshold, else 0 (threshold 0 gives ReLU, -infinity passes it through).
TF_HOST_DEVICE inline float sae_jumprelu(float pre, float threshold) { return pre > threshold ? pre : 0.0f; }

}  // namespace tf
