#include "kernels/token_filter.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"

namespace tf {

namespace {

constexpr int64_t kChunk = 1 << 20;

// What one chunk knows about the documents it touches.
struct ChunkResult {
  TokenFilterStats stats;      // flagged, label counts, and documents closed inside the chunk
  bool has_eot = false;
  int64_t head_supervised = 0;  // supervised tokens up to and including the first eot
  int64_t tail_supervised = 0;  // supervised tokens after the last eot (or the whole chunk)
};

template <bool kU8, bool kReplace, bool kLabels>
void filter_chunk(ChunkResult& r, uint8_t* loss_mask, uint32_t* out_tokens, const uint32_t* tokens,
                  const float* scores_f32, const uint8_t* scores_u8, int64_t begin, int64_t end, double level,
                  int level_u8, int64_t eot, uint32_t hidden, const uint8_t* labels, bool flag_separators) {
  int64_t supervised = 0;  // content tokens (not the separator) learned from in the open document
  int64_t flagged = 0;
  for (int64_t i = begin; i < end; i++) {
    const bool separator = static_cast<int64_t>(tokens[i]) == eot;
    const bool passes = kU8 ? scores_u8[i] >= level_u8 : static_cast<double>(scores_f32[i]) >= level;
    const bool flag = passes && (flag_separators || !separator);
    loss_mask[i] = flag ? 0 : 1;
    flagged += flag;
    supervised += !flag && !separator;
    if (kReplace) out_tokens[i] = flag ? hidden : tokens[i];
    if (kLabels) {
      r.stats.label_tokens[labels[i]]++;
      r.stats.label_flagged[labels[i]] += flag;
    }
    if (separator) {
      if (!r.has_eot) {
        r.has_eot = true;
        r.head_supervised = supervised;
      } else {
        r.stats.documents++;
        r.stats.emptied += supervised == 0;
      }
      supervised = 0;
    }
  }
  r.tail_supervised = supervised;
  r.stats.flagged = flagged;
}

template <bool kU8, bool kReplace>
void dispatch_labels(ChunkResult& r, bool with_labels, uint8_t* m, uint32_t* o, const uint32_t* t, const float* f,
                     const uint8_t* u, int64_t b, int64_t e, double lf, int lu, int64_t eot, uint32_t h,
                     const uint8_t* l, bool fs) {
  if (with_labels) filter_chunk<kU8, kReplace, true>(r, m, o, t, f, u, b, e, lf, lu, eot, h, l, fs);
  else filter_chunk<kU8, kReplace, false>(r, m, o, t, f, u, b, e, lf, lu, eot, h, l, fs);
}

}  // namespace

TokenFilterStats token_filter(uint8_t* loss_mask, uint32_t* out_tokens, const uint32_t* tokens, const float* scores_f32,
                              const uint8_t* scores_u8, int64_t n, double level, int level_u8, int64_t eot,
                              uint32_t hidden, const uint8_t* labels, bool flag_separators) {
  const int64_t chunks = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
  std::vector<ChunkResult> results(static_cast<size_t>(chunks));
  const bool u8 = scores_u8 != nullptr;
  const bool replace = out_tokens != nullptr;
  const bool with_labels = labels != nullptr;
  pool()->parallel_for(static_cast<size_t>(chunks), [&](size_t c) {
    int64_t begin = static_cast<int64_t>(c) * kChunk;
    int64_t end = std::min(n, begin + kChunk);
    ChunkResult& r = results[c];
    if (u8 && replace) dispatch_labels<true, true>(r, with_labels, loss_mask, out_tokens, tokens, scores_f32, scores_u8, begin, end, level, level_u8, eot, hidden, labels, flag_separators);
    else if (u8) dispatch_labels<true, false>(r, with_labels, loss_mask, out_tokens, tokens, scores_f32, scores_u8, begin, end, level, level_u8, eot, hidden, labels, flag_separators);
    else if (replace) dispatch_labels<false, true>(r, with_labels, loss_mask, out_tokens, tokens, scores_f32, scores_u8, begin, end, level, level_u8, eot, hidden, labels, flag_separators);
    else dispatch_labels<false, false>(r, with_labels, loss_mask, out_tokens, tokens, scores_f32, scores_u8, begin, end, level, level_u8, eot, hidden, labels, flag_separators);
  });

  // Stitch documents across chunks in order: `open` counts supervised tokens of the document
  // still open at the chunk boundary.
  TokenFilterStats total;
  int64_t open = 0;
  for (const ChunkResult& r : results) {
    total.flagged += r.stats.flagged;
    total.documents += r.stats.documents;
    total.emptied += r.stats.emptied;
    for (int k = 0; k < 256; k++) {
      total.label_tokens[k] += r.stats.label_tokens[k];
      total.label_flagged[k] += r.stats.label_flagged[k];
    }
    if (r.has_eot) {
      total.documents++;
      total.emptied += (open + r.head_supervised) == 0;
      open = r.tail_supervised;
    } else {
      open += r.tail_supervised;
    }
  }
  const bool tail_open = n > 0 && (eot < 0 || static_cast<int64_t>(tokens[n - 1]) != eot);
  if (tail_open) {
    total.documents++;
    total.emptied += open == 0;
  }
  return total;
}

int64_t first_invalid_probability(const float* scores, int64_t n) {
  const int64_t chunks = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
  std::vector<int64_t> found(static_cast<size_t>(chunks), -1);
  pool()->parallel_for(static_cast<size_t>(chunks), [&](size_t c) {
    int64_t begin = static_cast<int64_t>(c) * kChunk;
    int64_t end = std::min(n, begin + kChunk);
    bool bad = false;
    for (int64_t i = begin; i < end; i++) bad |= !(scores[i] >= 0.0f && scores[i] <= 1.0f);
    if (!bad) return;
    for (int64_t i = begin; i < end; i++)
      if (!(scores[i] >= 0.0f && scores[i] <= 1.0f)) {
        found[c] = i;
        break;
      }
  });
  for (int64_t f : found)
    if (f >= 0) return f;
  return -1;
}

}  // namespace tf
