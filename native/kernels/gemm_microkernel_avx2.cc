// AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators. Per k it loads two
// 8-float vectors of the B panel and broadcasts six A values (6 x 2 FMAs).
#include <immintrin.h>

#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                     int64_t ldc, float alpha, float beta, int mr, int nr) {
  __m256 acc0[kMR], acc1[kMR];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++, a += kMR, b += kNR) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (mr == kMR && nr == kNR) {
    if (beta == 0.0f) {
#pragma GCC unroll 6
      for (int i = 0; i < kMR; i++) {
        _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc0[i]));
        _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc1[i]));
      }
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
      for (int i = 0; i < kMR; i++) {
        float* ci = c + i * ldc;
        _mm256_storeu_ps(ci, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), _mm256_mul_ps(va, acc0[i])));
        _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), _mm256_mul_ps(va, acc1[i])));
      }
    }
    return;
  }
  // Edge tile: spill the scaled accumulators and merge only the part inside C, with the same
  // arithmetic (alpha * acc, then one fused multiply-add with beta) as the full tile.
  alignas(32) float tile[kMR][kNR];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; i++) {
    _mm256_store_ps(tile[i], _mm256_mul_ps(va, acc0[i]));
    _mm256_store_ps(tile[i] + 8, _mm256_mul_ps(va, acc1[i]));
  }
  for (int i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < nr; j++) ci[j] = tile[i][j];
    else
      for (int j = 0; j < nr; j++) ci[j] = __builtin_fmaf(beta, ci[j], tile[i][j]);
  }
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* x, const float* y, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; i < n; i++) sum = __builtin_fmaf(x[i], y[i], sum);
  return sum;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; i++) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

}  // namespace

const KernelConfig& avx2_config() {
  static const KernelConfig config{kMR, kNR, 256, 512, 4096, kernel_avx2, pack_panels_avx2<kMR>,
                                   pack_panels_avx2<kNR>, dot_avx2, axpy_avx2, nullptr};
  return config;
}

}  // namespace tf::gemm_internal
