// AVX2 packing for the 6 x 16 micro-kernel (layout in gemm_internal.h). The transposing case
// (depth contiguous in the source) moves 8 x 8 blocks through registers: 8 row loads, a
// 3-stage shuffle transpose, 8 stores.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {
namespace {

#define TF_AVX2 __attribute__((target("avx2,fma")))

// Transposes the 8 x 8 block r[0..7] (row i in r[i]) in place: afterwards r[j] is column j.
TF_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[i + c] (i = 0 or 4): in each 128-bit lane L, rows i .. i + 3 of column 4 L + c.
  __m256 u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int c = 0; c < 4; c++) {
    r[c] = _mm256_permute2f128_ps(u[c], u[c + 4], 0x20);
    r[c + 4] = _mm256_permute2f128_ps(u[c], u[c + 4], 0x31);
  }
}

// Mask of the first n lanes (n in [0, 8]) for maskload / maskstore.
TF_AVX2 inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int R>
TF_AVX2 void pack_avx2(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  static_assert(R == 6 || R == 16, "AVX2 packing is for the 6 x 16 tile");
  if (ks != 1) {
    pack_panels<R>(x, rs, ks, rows, kc, dst);
    return;
  }
  constexpr int kBlocks = R > 8 ? 2 : 1;
  const __m256i store_mask = first_lanes(R >= 8 ? 8 : R);
  for (int64_t r0 = 0; r0 < rows; r0 += R, dst += kc * R) {
    const int valid = static_cast<int>(std::min<int64_t>(R, rows - r0));
    for (int64_t k0 = 0; k0 < kc; k0 += 8) {
      const int depth = static_cast<int>(std::min<int64_t>(8, kc - k0));
      const __m256i width = first_lanes(depth);
      for (int h = 0; h < kBlocks; h++) {
        __m256 r[8];
        const float* src = x + (r0 + 8 * h) * rs + k0;
        for (int i = 0; i < 8; i++)
          r[i] = i < valid - 8 * h ? _mm256_maskload_ps(src + i * rs, width) : _mm256_setzero_ps();
        transpose8(r);
        float* d = dst + k0 * R + 8 * h;
        for (int kk = 0; kk < depth; kk++) _mm256_maskstore_ps(d + kk * R, store_mask, r[kk]);
      }
    }
  }
}

}  // namespace

template <int R>
void pack_panels_avx2(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  pack_avx2<R>(x, rs, ks, rows, kc, dst);
}

template void pack_panels_avx2<6>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels_avx2<16>(const float*, int64_t, int64_t, int64_t, int64_t, float*);

}  // namespace tf::gemm_internal
