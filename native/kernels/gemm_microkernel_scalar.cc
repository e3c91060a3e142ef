// Portable 4 x 8 micro-kernel (baseline x86-64 / any CPU); the compiler vectorizes the
// 8-wide inner loops with whatever the baseline offers.
#include "kernels/gemm_internal.h"

namespace tf::gemm_internal {
namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

void kernel_scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta, int mr,
                   int nr) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; k++, a += kMR, b += kNR)
    for (int i = 0; i < kMR; i++)
      for (int j = 0; j < kNR; j++) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
  }
}

// Eight interleaved partial sums, so the loop vectorizes without reassociating.
float dot_scalar(const float* x, const float* y, int64_t n) {
  float s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) s[l] += x[i + l] * y[i + l];
  for (; i < n; i++) s[0] += x[i] * y[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void axpy_scalar(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

}  // namespace

const KernelConfig& scalar_config() {
  static const KernelConfig config{kMR, kNR, 256, 256, 2048, kernel_scalar, pack_panels<kMR>, pack_panels<kNR>,
                                   dot_scalar, axpy_scalar, nullptr};
  return config;
}

}  // namespace tf::gemm_internal
