// Reductions used by the optimizer (global gradient norm).
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace tf {

// Sum of x[i]^2 in double. The input is cut into fixed chunks (independent of the thread
// count) whose partial sums are added in chunk order, so the result is bit-identical for
// every thread count.
double sum_of_squares(const float* x, int64_t n) {
  const int64_t chunk = 1 << 16;
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  pool()->parallel_for(static_cast<size_t>(chunks), [&](size_t c) {
    int64_t begin = static_cast<int64_t>(c) * chunk;
    int64_t end = std::min(n, begin + chunk);
    double s = 0.0;
    for (int64_t i = begin; i < end; i++) s += static_cast<double>(x[i]) * x[i];
    partial[c] = s;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace tf
