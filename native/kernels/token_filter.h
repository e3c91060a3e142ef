// The per-token pass behind filterTokens' token modes (mask / remove): one read of the scores,
// one write of the loss mask, with the statistics gathered on the way. Multi-threaded over
// contiguous chunks; documents that straddle chunk boundaries are stitched in a fixed order,
// so the result does not depend on the thread count.
#pragma once
#include <cstdint>

namespace tf {

struct TokenFilterStats {
  int64_t flagged = 0;    // tokens whose score >= level (separators never)
  int64_t documents = 0;  // eot-terminated documents, plus a non-empty unterminated tail
  int64_t emptied = 0;    // documents in which every token but the separator is flagged
  int64_t label_tokens[256] = {};
  int64_t label_flagged[256] = {};
};

// tokens [n]; scores [n] given as exactly one of scores_f32 (probabilities, flagged when
// >= level, compared in double) or scores_u8 (round(255 p), flagged when >= level_u8); labels [n] or nullptr.
// Writes loss_mask[n] (0 = flagged, 1 = learned). When out_tokens is not nullptr, writes
// out_tokens[n] = hidden where flagged, tokens[i] elsewhere. Unless flag_separators is set, the
// separator (tokens[i] == eot) is never flagged, whatever its score: it keeps its id (documents
// never merge) and its loss mask is 1. flag_separators serves document dropping, where a
// dropped document's separator goes with it. eot < 0: no document structure (the whole input
// is one document).
TokenFilterStats token_filter(uint8_t* loss_mask, uint32_t* out_tokens, const uint32_t* tokens, const float* scores_f32,
                              const uint8_t* scores_u8, int64_t n, double level, int level_u8, int64_t eot,
                              uint32_t hidden, const uint8_t* labels, bool flag_separators = false);

// Index of the first score that is NaN or outside [0, 1], or -1 when all are probabilities.
int64_t first_invalid_probability(const float* scores, int64_t n);

}  // namespace tf
