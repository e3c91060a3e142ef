// Streaming per-latent moments (see latent_moments.h).
#include "kernels/latent_moments.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"

namespace tf {

double latent_moments_merge(double count_a, double* mean_a, double* m2_a, double count_b, const double* mean_b,
                            const double* m2_b, int64_t S) {
  if (count_b <= 0) return count_a;
  const double n = count_a + count_b;
  for (int64_t s = 0; s < S; s++) {
    const double delta = mean_b[s] - mean_a[s];
    mean_a[s] += delta * count_b / n;
    m2_a[s] += m2_b[s] + delta * delta * count_a * count_b / n;
  }
  return n;
}

double latent_moments_update(const float* acts, int64_t T, int64_t S, double count, double* mean, double* m2) {
  constexpr int64_t kChunk = 1024;
  const int64_t chunks = (T + kChunk - 1) / kChunk;
  if (chunks == 0) return count;
  std::vector<double> cm(static_cast<size_t>(chunks * S), 0.0), cv(static_cast<size_t>(chunks * S), 0.0);
  pool()->parallel_for(static_cast<size_t>(chunks), [&](size_t c) {
    const int64_t begin = static_cast<int64_t>(c) * kChunk, end = std::min(T, begin + kChunk);
    double* mu = cm.data() + c * S;
    double* q = cv.data() + c * S;
    for (int64_t t = begin; t < end; t++) {
      const double inv = 1.0 / static_cast<double>(t - begin + 1);
      const float* row = acts + t * S;
      for (int64_t s = 0; s < S; s++) {
        const double delta = row[s] - mu[s];
        mu[s] += delta * inv;
        q[s] += delta * (row[s] - mu[s]);
      }
    }
  });
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t rows = std::min(T, (c + 1) * kChunk) - c * kChunk;
    count = latent_moments_merge(count, mean, m2, static_cast<double>(rows), cm.data() + c * S, cv.data() + c * S, S);
  }
  return count;
}

}  // namespace tf
