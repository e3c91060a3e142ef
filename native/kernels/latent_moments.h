// Streaming per-latent mean and variance over a corpus, numerically stable and mergeable.
//
// Shape legend: T tokens, S latents. A block acts [T, S] is split into row chunks; each chunk
// gets Welford's update per latent (count, mean, M2 = sum of squared deviations), and chunks
// are merged with Chan et al.'s pairwise formula:
//   n = na + nb, delta = mean_b - mean_a, mean = mean_a + delta * nb / n,
//   M2 = M2_a + M2_b + delta^2 * na * nb / n.
// Chunk boundaries are fixed by T (not by the thread count), so results are deterministic.
#pragma once
#include <cstdint>

namespace tf {

// Merges the moments of acts [T, S] into (count, mean [S], m2 [S]) in place; returns the new
// count. All latents share one count (every token contributes to every latent).
double latent_moments_update(const float* acts, int64_t T, int64_t S, double count, double* mean, double* m2);

// Chan merge of (count_b, mean_b, m2_b) into (count_a, mean_a, m2_a); returns the new count.
double latent_moments_merge(double count_a, double* mean_a, double* m2_a, double count_b, const double* mean_b,
                            const double* m2_b, int64_t S);

}  // namespace tf
