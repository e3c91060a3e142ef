// Element math of SAE encoding, shared by the CPU encoder (native/models/sae.cc:
// sae_encode_selected, topk_activation) and the CUDA one (native/cuda/sae_encode.cu).
#pragma once
#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace tf {

// A latent's code from its pre-activation (x·w + bias) and threshold: the pre-activation when
// it exceeds the threshold, else 0 (threshold 0 gives ReLU, -infinity passes it through).
TF_HOST_DEVICE inline float sae_jumprelu(float pre, float threshold) { return pre > threshold ? pre : 0.0f; }

// The TopK competition's order key of a pre-activation: for finite (and infinite) a, b,
// a > b as floats iff key(a) > key(b) as unsigned integers, and -0 has the key of +0, so
// equal floats have equal keys (a NaN sorts above +infinity; encode rejects NaNs before).
// Sign-magnitude to an order-preserving unsigned: flip every bit of a negative, set the sign
// bit of a non-negative.
TF_HOST_DEVICE inline uint32_t sae_topk_key(float v) {
  if (v == 0.0f) v = 0.0f;
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Whether latent a (value va) wins over latent b in the TopK competition: a larger key, or an
// equal key and the lower index.
TF_HOST_DEVICE inline bool sae_topk_before(float va, int64_t a, float vb, int64_t b) {
  const uint32_t ka = sae_topk_key(va), kb = sae_topk_key(vb);
  return ka > kb || (ka == kb && a < b);
}

// The code a TopK winner keeps: relu of its pre-activation.
TF_HOST_DEVICE inline float sae_topk_code(float pre) { return pre > 0.0f ? pre : 0.0f; }

// One pass of the radix select of the CUDA TopK kernel (and its host emulation,
// sae_topk_radix_emulate): `hist` counts, per value of the key's byte at `shift`, the keys that
// match the bytes chosen so far (`prefix`); `need` (>= 1, <= their total) winners are still to
// be found among them. Picks the byte where the count from the top reaches `need`, adds it to
// `prefix` and returns the winners still needed among keys with that byte.
TF_HOST_DEVICE inline int64_t sae_topk_radix_step(const uint32_t* hist, int shift, int64_t need, uint32_t* prefix) {
  int64_t above = 0;
  int d = 255;
  for (; d > 0; d--) {
    if (above + hist[d] >= need) break;
    above += hist[d];
  }
  *prefix |= uint32_t(d) << shift;
  return need - above;
}

// After the 4 passes `prefix` is the k-th largest key and `need` how many keys equal to it win
// (the lowest indices): whether a latent with `key`, `rank` equal keys before it, is kept.
TF_HOST_DEVICE inline bool sae_topk_kept(uint32_t key, uint32_t prefix, int64_t rank, int64_t need) {
  return key > prefix || (key == prefix && rank < need);
}

}  // namespace tf
