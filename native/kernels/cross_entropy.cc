// Fused softmax + cross-entropy with a per-position loss mask, vectorised over the vocabulary.
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cross_entropy_math.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace tf {

namespace {

using namespace simd;

// One unmasked row. x [V] logits; d [V] gradient output or nullptr (may alias x).
// Writes *loss = logsumexp(x) - x[target]; when d is set, d = scale * (softmax(x) - onehot).
// Two passes over the row (max, then sum of exp) and a third that recomputes exp for d: the
// row (V = 50257 floats, 200 KB) stays in L2 between passes.
struct CrossEntropyRow {
  template <int W>
  TF_SIMD_INLINE static void run(const float* x, float* d, int64_t V, uint32_t target, float scale, double* loss) {
    const int64_t body = V / (4 * W) * (4 * W);
    // max
    vf<W> m0 = broadcast<W>(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    for (int64_t j = 0; j < body; j += 4 * W) {
      m0 = vmax<W>(m0, load<W>(x + j));
      m1 = vmax<W>(m1, load<W>(x + j + W));
      m2 = vmax<W>(m2, load<W>(x + j + 2 * W));
      m3 = vmax<W>(m3, load<W>(x + j + 3 * W));
    }
    float maxv = hmax<W>(vmax<W>(vmax<W>(m0, m1), vmax<W>(m2, m3)));
    for (int64_t j = body; j < V; j++) maxv = x[j] > maxv ? x[j] : maxv;
    // sum of exp(x - max): four vector accumulators, lanes and tail added in double
    const vf<W> mv = broadcast<W>(maxv);
    vf<W> s0{}, s1{}, s2{}, s3{};
    for (int64_t j = 0; j < body; j += 4 * W) {
      s0 += exp<W>(load<W>(x + j) - mv);
      s1 += exp<W>(load<W>(x + j + W) - mv);
      s2 += exp<W>(load<W>(x + j + 2 * W) - mv);
      s3 += exp<W>(load<W>(x + j + 3 * W) - mv);
    }
    double sum = hsum_double<W>(s0) + hsum_double<W>(s1) + hsum_double<W>(s2) + hsum_double<W>(s3);
    for (int64_t j = body; j < V; j++) sum += exp_scalar(x[j] - maxv);
    *loss = cross_entropy_row_loss(maxv, sum, x[target]);
    if (!d) return;
    // d = exp(x - max) * (scale / sum), then subtract scale at the target
    const float factor = cross_entropy_grad_factor(scale, sum);
    const vf<W> k = broadcast<W>(factor);
    int64_t j = 0;
    for (; j + W <= V; j += W) store<W>(d + j, exp<W>(load<W>(x + j) - mv) * k);
    for (; j < V; j++) d[j] = exp_scalar(x[j] - maxv) * factor;
    d[target] -= scale;
  }
};

// Shared body: logits [N, V], targets [N], mask [N] or nullptr. Writes losses [N] when not
// nullptr; when dlogits is not nullptr (it may alias logits) writes the scaled gradient there.
// Per-row losses are summed in row order in double, so the total does not depend on threads.
double cross_entropy(const float* logits, float* dlogits, float* losses, const uint32_t* targets,
                     const uint8_t* mask, int64_t N, int64_t V, float dloss_scale) {
  std::vector<double> row_loss(static_cast<size_t>(N), 0.0);
  parallel_range(static_cast<size_t>(N), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      if (mask != nullptr && mask[i] == 0) {
        if (dlogits) std::memset(dlogits + i * V, 0, sizeof(float) * V);
        continue;
      }
      float* d = dlogits ? dlogits + i * V : nullptr;
      dispatch<CrossEntropyRow>(logits + i * V, d, V, targets[i], dloss_scale, &row_loss[i]);
    }
  });
  double total = 0.0;
  for (int64_t i = 0; i < N; i++) {
    if (losses) losses[i] = static_cast<float>(row_loss[i]);
    total += row_loss[i];
  }
  return total;
}

}  // namespace

// losses [N] (or nullptr), logits [N, V], targets [N], mask [N] (or nullptr); returns the sum
double cross_entropy_forward(float* losses, const float* logits, const uint32_t* targets, const uint8_t* mask,
                             int64_t N, int64_t V) {
  return cross_entropy(logits, nullptr, losses, targets, mask, N, V, 0.0f);
}

// logits_to_dlogits [N, V]: logits in, dloss_scale * (softmax - onehot) out (0 on masked rows)
double cross_entropy_forward_backward(float* logits_to_dlogits, float* losses, const uint32_t* targets,
                                      const uint8_t* mask, int64_t N, int64_t V, float dloss_scale) {
  return cross_entropy(logits_to_dlogits, logits_to_dlogits, losses, targets, mask, N, V, dloss_scale);
}

}  // namespace tf
