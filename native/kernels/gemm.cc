// Reference-speed GEMM (correct, multi-threaded over rows of C, no packing). The packed,
// cache-blocked SIMD implementation replaces the body of gemm() behind the same signature.
#include "kernels/gemm.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"

namespace tf {

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  parallel_range(static_cast<size_t>(M), 4, [&](size_t row_begin, size_t row_end) {
    std::vector<float> acc(static_cast<size_t>(N));
    for (size_t i = row_begin; i < row_end; i++) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t p = 0; p < K; p++) {
        float a = trans_a == Trans::No ? A[i * lda + p] : A[p * lda + i];
        if (trans_b == Trans::No) {
          const float* b = B + p * ldb;
          for (int64_t j = 0; j < N; j++) acc[j] += a * b[j];
        } else {
          for (int64_t j = 0; j < N; j++) acc[j] += a * B[j * ldb + p];
        }
      }
      float* c = C + i * ldc;
      if (beta == 0.0f)
        for (int64_t j = 0; j < N; j++) c[j] = alpha * acc[j];
      else
        for (int64_t j = 0; j < N; j++) c[j] = alpha * acc[j] + beta * c[j];
    }
  });
}

}  // namespace tf
