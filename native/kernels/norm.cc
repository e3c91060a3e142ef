// Reductions used by the optimizer (global gradient norm).
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace tf {

namespace {

typedef double vd8 __attribute__((vector_size(64)));

// Sum of x[i]^2 over [begin, end) in double: 8 floats at a time widened to double (the
// squares are exact in double), two accumulators, lanes added in a fixed order.
struct SumOfSquaresChunk {
  template <int W>
  TF_SIMD_INLINE static void run(const float* x, int64_t begin, int64_t end, double* result) {
    vd8 acc0{}, acc1{};
    int64_t i = begin;
    for (; i + 16 <= end; i += 16) {
      vd8 a = __builtin_convertvector(simd::load<8>(x + i), vd8);
      vd8 b = __builtin_convertvector(simd::load<8>(x + i + 8), vd8);
      acc0 += a * a;
      acc1 += b * b;
    }
    vd8 acc = acc0 + acc1;
    double s = 0.0;
    for (int l = 0; l < 8; l++) s += acc[l];
    for (; i < end; i++) s += static_cast<double>(x[i]) * x[i];
    *result = s;
  }
};

}  // namespace

// Sum of x[i]^2 in double. The input is cut into fixed chunks (independent of the thread
// count) whose partial sums are added in chunk order, so the result is bit-identical for
// every thread count.
double sum_of_squares(const float* x, int64_t n) {
  const int64_t chunk = 1 << 16;
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  pool()->parallel_for(static_cast<size_t>(chunks), [&](size_t c) {
    int64_t begin = static_cast<int64_t>(c) * chunk;
    simd::dispatch<SumOfSquaresChunk>(x, begin, std::min(n, begin + chunk), &partial[c]);
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace tf
