// The SAE labelling rule: which tokens belong to the forget domain, from the activations of
// selected latents.
//
// Shape legend: T tokens, S selected latents. acts [T, S] row-major.
//   seed[t]     = #{s : acts[t, s] > mean[s] + z * std[s]} >= min_latents
//   positive[t] = exists s : acts[t, s] > 0
// A token is forget when it is a seed, or when it is positive and adjacent to a forget token;
// the second clause repeats until nothing changes. Its fixed point is: seeds, plus every
// positive token joined to a seed by a chain of adjacent positive tokens. Two sweeps reach it:
// left to right (a positive token after a forget token), then right to left (a positive token
// before one). Nothing crosses a break: break_before[t] != 0 cuts the link between t - 1 and t.
// Tokens marked blocked (e.g. <|endoftext|>) are never labelled and never link anything.
#pragma once
#include <cstdint>

namespace tf {

struct LabelRuleStats {
  int64_t seeds = 0;    // tokens passing the z-score rule
  int64_t labelled = 0; // tokens labelled 1 after propagation
};

// labels [T] written (0/1). break_before and blocked may be nullptr (no breaks / none blocked).
LabelRuleStats sae_label_tokens(const float* acts, int64_t T, int64_t S, const float* mean, const float* std_dev,
                                float z, int64_t min_latents, const uint8_t* break_before, const uint8_t* blocked,
                                uint8_t* labels);

}  // namespace tf
