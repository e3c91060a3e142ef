// AVX-512 micro-kernel: a 14 x 32 tile of C in 28 zmm accumulators. Per k it loads two
// 16-float vectors of the B panel and broadcasts fourteen A values (14 x 2 FMAs), which keeps
// both FMA ports busy with loads to spare. Edge tiles use masked loads/stores on the columns
// and skip rows past mr, so they need no scratch tile.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {
namespace {

constexpr int kMR = 14;
constexpr int kNR = 32;

#define TF_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

TF_AVX512 void kernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                             float beta, int mr, int nr) {
  __m512 acc0[kMR], acc1[kMR];
#pragma GCC unroll 14
  for (int i = 0; i < kMR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int i = 0; i < kMR; i++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++, a += kMR, b += kNR) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < kMR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = nr >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : static_cast<__mmask16>((1u << (nr - 16)) - 1);
  if (beta == 0.0f) {
#pragma GCC unroll 14
    for (int i = 0; i < kMR; i++) {
      if (i < mr) {
        _mm512_mask_storeu_ps(c + i * ldc, m0, _mm512_mul_ps(va, acc0[i]));
        _mm512_mask_storeu_ps(c + i * ldc + 16, m1, _mm512_mul_ps(va, acc1[i]));
      }
    }
  } else {
#pragma GCC unroll 14
    for (int i = 0; i < kMR; i++) {
      if (i < mr) {
        float* ci = c + i * ldc;
        _mm512_mask_storeu_ps(ci, m0, _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), _mm512_mul_ps(va, acc0[i])));
        _mm512_mask_storeu_ps(ci + 16, m1,
                              _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), _mm512_mul_ps(va, acc1[i])));
      }
    }
  }
}

TF_AVX512 float dot_avx512(const float* x, const float* y, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + i), _mm512_maskz_loadu_ps(tail, y + i), s1);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float sum = 0.0f;
  for (int l = 0; l < 16; l++) sum += lanes[l];
  return sum;
}

TF_AVX512 void axpy_avx512(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, tail,
                          _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(tail, x + i), _mm512_maskz_loadu_ps(tail, y + i)));
  }
}

// Small GEMMs without packing: a 4 x 32 tile (8 accumulators) reads op(A) and B where they lie.
// Packing would cost as much as the arithmetic at these sizes, and the 14 x 32 tile would be
// mostly padding. Column edges use masked loads, so nothing past B's or C's rows is touched.
constexpr int kSmallMR = 4;

TF_AVX512 void small_tile(int64_t K, const float* a, int64_t a_rs, int64_t a_ks, const float* b, int64_t ldb, float* c,
                          int64_t ldc, float alpha, float beta, int mr, __mmask16 m0, __mmask16 m1) {
  __m512 acc0[kSmallMR], acc1[kSmallMR];
#pragma GCC unroll 4
  for (int i = 0; i < kSmallMR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k++, a += a_ks, b += ldb) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 4
    for (int i = 0; i < kSmallMR; i++) {
      if (i < mr) {
        const __m512 ai = _mm512_set1_ps(a[i * a_rs]);
        acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
      }
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 4
  for (int i = 0; i < kSmallMR; i++) {
    if (i < mr) {
      float* ci = c + i * ldc;
      __m512 r0 = _mm512_mul_ps(va, acc0[i]), r1 = _mm512_mul_ps(va, acc1[i]);
      if (beta != 0.0f) {
        r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
        r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
      }
      _mm512_mask_storeu_ps(ci, m0, r0);
      _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
  }
}

TF_AVX512 void small_avx512(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                            const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // op(A) element (i, k) is A[i * a_rs + k * a_ks].
  const int64_t a_rs = trans_a ? 1 : lda, a_ks = trans_a ? lda : 1;
  for (int64_t j0 = 0; j0 < N; j0 += 32) {
    const int64_t cols = std::min<int64_t>(32, N - j0);
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
    for (int64_t i0 = 0; i0 < M; i0 += kSmallMR) {
      const int rows = static_cast<int>(std::min<int64_t>(kSmallMR, M - i0));
      small_tile(K, A + i0 * a_rs, a_rs, a_ks, B + j0, ldb, C + i0 * ldc + j0, ldc, alpha, beta, rows, m0, m1);
    }
  }
}

}  // namespace

const KernelConfig& avx512_config() {
  static const KernelConfig config{kMR, kNR, 384, 512, 4096, kernel_avx512, pack_panels_avx512<kMR>,
                                   pack_panels_avx512<kNR>, dot_avx512, axpy_avx512, small_avx512};
  return config;
}

}  // namespace tf::gemm_internal
