// Portable packing of op(A) / op(B) blocks into k-major panels (layout in gemm_internal.h).
// Two source layouts occur: the panel dimension is contiguous (rs == 1: each k copies R
// consecutive floats) or the depth is contiguous (ks == 1: an R x kc transpose, done in
// 8-deep strips so reads stay sequential and writes stay inside a small L1 window).
#include <algorithm>
#include <cstring>

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {

template <int R>
void pack_panels(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += R, dst += kc * R) {
    const int valid = static_cast<int>(std::min<int64_t>(R, rows - r0));
    const float* src = x + r0 * rs;
    if (rs == 1) {
      for (int64_t k = 0; k < kc; k++) {
        const float* s = src + k * ks;
        float* d = dst + k * R;
        if (valid == R) {
          std::memcpy(d, s, sizeof(float) * R);
        } else {
          for (int r = 0; r < valid; r++) d[r] = s[r];
          for (int r = valid; r < R; r++) d[r] = 0.0f;
        }
      }
      continue;
    }
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
