// Fused softmax + cross-entropy with a per-position loss mask.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace tf {

namespace {

bool row_counts(const uint8_t* mask, int64_t i) { return mask == nullptr || mask[i] != 0; }

// Shared body: logits [N, V], targets [N], mask [N] or nullptr. Writes losses [N] when not
// nullptr; when dlogits is not nullptr (it may alias logits) writes the scaled gradient there.
// Per-row losses are summed in row order in double, so the total does not depend on threads.
double cross_entropy(const float* logits, float* dlogits, float* losses, const uint32_t* targets,
                     const uint8_t* mask, int64_t N, int64_t V, float dloss_scale) {
  std::vector<double> row_loss(static_cast<size_t>(N), 0.0);
  parallel_range(static_cast<size_t>(N), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float* x = logits + i * V;
      if (!row_counts(mask, static_cast<int64_t>(i))) {
        if (losses) losses[i] = 0.0f;
        if (dlogits)
          for (int64_t j = 0; j < V; j++) dlogits[i * V + j] = 0.0f;
        continue;
      }
      float maxv = -INFINITY;
      for (int64_t j = 0; j < V; j++) maxv = x[j] > maxv ? x[j] : maxv;
      double sum = 0.0;
      for (int64_t j = 0; j < V; j++) sum += std::exp(x[j] - maxv);
      float lse = maxv + static_cast<float>(std::log(sum));
      float loss = lse - x[targets[i]];
      row_loss[i] = loss;
      if (losses) losses[i] = loss;
      if (dlogits) {
        float* d = dlogits + i * V;
        float inv = static_cast<float>(1.0 / sum);
        uint32_t target = targets[i];
        for (int64_t j = 0; j < V; j++) d[j] = dloss_scale * (std::exp(x[j] - maxv) * inv);
        d[target] -= dloss_scale;
      }
    }
  });
  double total = 0.0;
  for (double l : row_loss) total += l;
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
