// Portable packing of op(A) / op(B) blocks into k-major panels (layout in gemm_internal.h).
// Two source layouts occur: the panel dimension is contiguous (rs == 1: each k copies R
// consecutive floats per panel) or the depth is contiguous (ks == 1: an R x kc transpose, done
// in 8-deep strips so reads stay sequential and writes stay inside a small L1 window).
#include <algorithm>
#include <cstring>

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {

namespace {

// rs == 1: each depth k of the source is a contiguous run over the panel dimension. A group of
// G panels (G R >= 64 floats, a few cache lines) is packed together so every source line is
// read once and in order, even when the row stride maps all rows onto the same cache sets.
template <int R>
void pack_contiguous_rows(const float* x, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  constexpr int64_t kGroup = (64 + R - 1) / R;
  for (int64_t r0 = 0; r0 < rows; r0 += kGroup * R) {
    const int64_t panels = std::min<int64_t>(kGroup, (rows - r0 + R - 1) / R);
    const int64_t last_valid = std::min<int64_t>(R, rows - r0 - (panels - 1) * R);
    float* d0 = dst + (r0 / R) * kc * R;
    for (int64_t k = 0; k < kc; k++) {
      const float* s = x + r0 + k * ks;
      for (int64_t p = 0; p < panels; p++) {
        float* d = d0 + p * kc * R + k * R;
        if (p + 1 < panels || last_valid == R) {
          std::memcpy(d, s + p * R, sizeof(float) * R);
        } else {
          for (int64_t r = 0; r < last_valid; r++) d[r] = s[p * R + r];
          for (int64_t r = last_valid; r < R; r++) d[r] = 0.0f;
        }
      }
    }
  }
}

}  // namespace

template <int R>
void pack_panels(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  if (rs == 1) {
    pack_contiguous_rows<R>(x, ks, rows, kc, dst);
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += R, dst += kc * R) {
    const int valid = static_cast<int>(std::min<int64_t>(R, rows - r0));
    const float* src = x + r0 * rs;
    constexpr int64_t kStrip = 8;
    int64_t k0 = 0;
    if (ks == 1) {
      for (; k0 + kStrip <= kc; k0 += kStrip) {
        float* d = dst + k0 * R;
        for (int r = 0; r < valid; r++) {
          const float* s = src + r * rs + k0;
          for (int64_t kk = 0; kk < kStrip; kk++) d[kk * R + r] = s[kk];
        }
        for (int r = valid; r < R; r++)
          for (int64_t kk = 0; kk < kStrip; kk++) d[kk * R + r] = 0.0f;
      }
    }
    for (int64_t k = k0; k < kc; k++) {
      float* d = dst + k * R;
      for (int r = 0; r < valid; r++) d[r] = src[r * rs + k * ks];
      for (int r = valid; r < R; r++) d[r] = 0.0f;
    }
  }
}

template void pack_panels<4>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels<6>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels<8>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels<14>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels<16>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels<32>(const float*, int64_t, int64_t, int64_t, int64_t, float*);

}  // namespace tf::gemm_internal
