// Token embedding lookup (positions come from RoPE, so there is no positional table).
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace tf {

namespace {

// dwte[tokens[i], c0:c1] += dout[i, c0:c1] for every row i in order (the c loop vectorises)
struct EmbeddingBackwardSlice {
  template <int W>
  TF_SIMD_INLINE static void run(float* dwte, const float* dout, const uint32_t* tokens, int64_t N, int64_t C,
                                 int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < N; i++) {
      const float* g = dout + i * C;
      float* d = dwte + static_cast<int64_t>(tokens[i]) * C;
      for (int64_t c = c0; c < c1; c++) d[c] += g[c];
    }
  }
};

}  // namespace

// out [N, C], tokens [N], wte [V, C]                                       writes out
void embedding_forward(float* out, const uint32_t* tokens, const float* wte, int64_t N, int64_t C) {
  parallel_range(static_cast<size_t>(N), 16, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++)
      std::memcpy(out + i * C, wte + static_cast<int64_t>(tokens[i]) * C, sizeof(float) * C);
  });
}

// dwte [V, C] += dout [N, C] scattered by tokens [N]                       accumulates dwte
// Threads own disjoint column slices and walk the rows in order, so repeated tokens add up in
// the same order for every thread count (bit-identical results, no atomics).
void embedding_backward(float* dwte, const float* dout, const uint32_t* tokens, int64_t N, int64_t C) {
  const int64_t slice = 64;
  const int64_t slices = (C + slice - 1) / slice;
  parallel_range(static_cast<size_t>(slices), 1, [&](size_t s_begin, size_t s_end) {
    int64_t c0 = static_cast<int64_t>(s_begin) * slice;
    int64_t c1 = std::min<int64_t>(C, static_cast<int64_t>(s_end) * slice);
    simd::dispatch<EmbeddingBackwardSlice>(dwte, dout, tokens, N, C, c0, c1);
  });
}

}  // namespace tf
