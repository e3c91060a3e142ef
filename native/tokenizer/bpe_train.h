// Training a byte-level BPE vocabulary on a text sample.
//
// 1. Pre-tokenize every text (pretokenize.h) and count how often each distinct piece occurs
//    (in parallel over texts, then merged).
// 2. Start every piece as its bytes; token ids 0..255 are the byte values.
// 3. Repeat `merges` times: take the adjacent pair with the highest total count (count of the
//    pair in a piece × the piece's frequency, non-overlapping, left to right), ties broken by the
//    smaller (left id, right id), i.e. older tokens first; give the merged token the next id
//    (256, 257, ...); rewrite only the pieces that contain the pair and update the pair counts
//    incrementally (a max-heap with lazily discarded stale entries).
// Training stops early when no pair is left (a tiny sample), so the vocabulary may come out
// smaller than asked. The result depends only on the multiset of pieces: it is deterministic
// whatever the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/pretokenize.h"

namespace tf::tokenizer {

struct TrainedBpe {
  std::vector<std::string> tokens;                        // id -> bytes; 256 bytes then merges
  std::vector<std::pair<uint32_t, uint32_t>> merges;      // merge i made token 256 + i
};

struct TrainHooks {
  std::function<bool()> cancelled;                        // polled; true throws tf::Cancelled
  std::function<void(const char* phase, size_t done, size_t total)> progress;
};

// texts are UTF-8. Throws tf::Cancelled when hooks.cancelled() turns true.
TrainedBpe train_bpe(Pretokenizer pre, const std::vector<std::string>& texts, size_t merges,
                     const TrainHooks& hooks);

}  // namespace tf::tokenizer
