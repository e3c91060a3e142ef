// AVX-512 packing for the 14 x 32 micro-kernel (layout in gemm_internal.h). The transposing
// case (depth contiguous in the source: op(A) = A, op(B) = B^T, the forward pass of a linear
// layer) moves 16 x 16 blocks through registers: 16 row loads, a 4-stage shuffle transpose,
// 16 stores, instead of one scalar store per element.
#include <immintrin.h>

#include <algorithm>

// GCC 12's own intrinsic headers trip this warning (_mm512_undefined_ps self-initializes).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {
namespace {

#define TF_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

// Transposes the 16 x 16 block r[0..15] (row i in r[i]) in place: afterwards r[j] is column j.
TF_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[i + c] (i a multiple of 4): in each 128-bit lane L, rows i .. i + 3 of column 4 L + c.
  for (int i = 0; i < 16; i += 4) {
    const __m512d lo0 = _mm512_castps_pd(t[i]), hi0 = _mm512_castps_pd(t[i + 1]);
    const __m512d lo1 = _mm512_castps_pd(t[i + 2]), hi1 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
  }
  // Gather the four lanes holding one column: first pairs of row groups, then all four.
  for (int i = 0; i < 16; i += 8) {
    for (int j = 0; j < 4; j++) {
      t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
    }
  }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
  }
}

// Loads up to 16 rows (rows past `valid` are zero) of `width` <= 16 consecutive depth values.
TF_AVX512 inline void load_rows(const float* src, int64_t rs, int valid, __mmask16 width, __m512 r[16]) {
  for (int i = 0; i < 16; i++) r[i] = i < valid ? _mm512_maskz_loadu_ps(width, src + i * rs) : _mm512_setzero_ps();
}

template <int R>
TF_AVX512 void pack_avx512(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  static_assert(R == 14 || R == 32, "AVX-512 packing is for the 14 x 32 tile");
  if (ks != 1) {
    pack_panels<R>(x, rs, ks, rows, kc, dst);
    return;
  }
  constexpr int kHalves = R > 16 ? 2 : 1;
  constexpr __mmask16 kStoreMask = R >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << R) - 1);
  for (int64_t r0 = 0; r0 < rows; r0 += R, dst += kc * R) {
    const int valid = static_cast<int>(std::min<int64_t>(R, rows - r0));
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int depth = static_cast<int>(std::min<int64_t>(16, kc - k0));
      const __mmask16 width = depth == 16 ? 0xFFFF : static_cast<__mmask16>((1u << depth) - 1);
      for (int h = 0; h < kHalves; h++) {
        __m512 r[16];
        load_rows(x + (r0 + 16 * h) * rs + k0, rs, valid - 16 * h, width, r);
        transpose16(r);
        float* d = dst + k0 * R + 16 * h;
        for (int kk = 0; kk < depth; kk++) _mm512_mask_storeu_ps(d + kk * R, kStoreMask, r[kk]);
      }
    }
  }
}

}  // namespace

template <int R>
void pack_panels_avx512(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst) {
  pack_avx512<R>(x, rs, ks, rows, kc, dst);
}

template void pack_panels_avx512<14>(const float*, int64_t, int64_t, int64_t, int64_t, float*);
template void pack_panels_avx512<32>(const float*, int64_t, int64_t, int64_t, int64_t, float*);

}  // namespace tf::gemm_internal
