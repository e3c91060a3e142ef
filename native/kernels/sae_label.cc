// The SAE labelling rule (see sae_label.h).
#include "kernels/sae_label.h"

#include <vector>

#include "core/thread_pool.h"

namespace tf {

LabelRuleStats sae_label_tokens(const float* acts, int64_t T, int64_t S, const float* mean, const float* std_dev,
                                float z, int64_t min_latents, const uint8_t* break_before, const uint8_t* blocked,
                                uint8_t* labels) {
  // positive[t] kept in bit 1 of labels during the sweeps, seed in bit 0
  std::vector<float> cut(static_cast<size_t>(S));
  for (int64_t s = 0; s < S; s++) cut[s] = mean[s] + z * std_dev[s];
  parallel_range(static_cast<size_t>(T), 4096, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; t++) {
      const float* row = acts + t * S;
      int64_t above = 0;
      bool positive = false;
      for (int64_t s = 0; s < S; s++) {
        above += row[s] > cut[s];
        positive |= row[s] > 0.0f;
      }
      const bool is_blocked = blocked && blocked[t];
      labels[t] = is_blocked ? 0 : static_cast<uint8_t>((above >= min_latents ? 1 : 0) | (positive ? 2 : 0));
    }
  });
  LabelRuleStats stats;
  for (int64_t t = 0; t < T; t++) stats.seeds += labels[t] & 1;
  auto linked = [&](int64_t t) {  // may t - 1 and t pass labels to each other?
    if (break_before && break_before[t]) return false;
    if (blocked && (blocked[t] || blocked[t - 1])) return false;
    return true;
  };
  // left to right: bit 2 (value 4) = forget
  for (int64_t t = 0; t < T; t++) {
    const bool seed = labels[t] & 1, positive = labels[t] & 2;
    const bool from_left = t > 0 && (labels[t - 1] & 4) && linked(t);
    if (seed || (positive && from_left)) labels[t] |= 4;
  }
  // right to left
  for (int64_t t = T - 2; t >= 0; t--) {
    const bool positive = labels[t] & 2;
    if (!(labels[t] & 4) && positive && (labels[t + 1] & 4) && linked(t + 1)) labels[t] |= 4;
  }
  for (int64_t t = 0; t < T; t++) {
    labels[t] = (labels[t] & 4) ? 1 : 0;
    stats.labelled += labels[t];
  }
  return stats;
}

}  // namespace tf
