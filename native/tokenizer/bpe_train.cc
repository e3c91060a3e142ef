// BPE training with incremental pair counts (see bpe_train.h).
#include "tokenizer/bpe_train.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/thread_pool.h"

namespace tf::tokenizer {
namespace {

uint64_t pair_key(uint32_t left, uint32_t right) { return (static_cast<uint64_t>(left) << 32) | right; }

// Distinct pieces of all texts with their frequencies.
std::unordered_map<std::string, uint64_t> count_pieces(Pretokenizer pre, const std::vector<std::string>& texts,
                                                       const TrainHooks& hooks) {
  std::shared_ptr<ThreadPool> p = pool();
  size_t tasks = static_cast<size_t>(p->threads());
  std::vector<std::unordered_map<std::string, uint64_t>> local(tasks);
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  p->parallel_for(tasks, [&](size_t t) {
    auto& counts = local[t];
    for (size_t i; !stop.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < texts.size();) {
      const auto* s = reinterpret_cast<const uint8_t*>(texts[i].data());
      size_t n = texts[i].size();
      for (size_t q = 0; q < n;) {
        size_t e = next_piece(pre, s, n, q);
        counts[std::string(reinterpret_cast<const char*>(s + q), e - q)]++;
        q = e;
      }
      size_t d = done.fetch_add(1) + 1;
      if (t == 0 && hooks.cancelled && hooks.cancelled()) stop = true;
      if (t == 0 && hooks.progress && d % 256 == 0) hooks.progress("count", d, texts.size());
    }
  });
  if (stop || (hooks.cancelled && hooks.cancelled())) throw Cancelled();
  for (size_t t = 1; t < tasks; t++) {
    for (auto& [piece, count] : local[t]) local[0][piece] += count;
    local[t].clear();
  }
  return std::move(local[0]);
}

}  // namespace

TrainedBpe train_bpe(Pretokenizer pre, const std::vector<std::string>& texts, size_t merges,
                     const TrainHooks& hooks) {
  TrainedBpe out;
  for (int b = 0; b < 256; b++) out.tokens.emplace_back(1, static_cast<char>(b));

  std::vector<std::vector<uint32_t>> words;
  std::vector<int64_t> freq;
  {
    auto pieces = count_pieces(pre, texts, hooks);
    words.reserve(pieces.size());
    freq.reserve(pieces.size());
    for (auto& [piece, count] : pieces) {
      if (piece.size() < 2) continue;  // a single byte never takes part in a pair
      words.emplace_back(piece.begin(), piece.end());
      for (auto& sym : words.back()) sym &= 0xFF;
      freq.push_back(static_cast<int64_t>(count));
    }
  }

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;  // pair -> pieces that (may) contain it
  for (uint32_t w = 0; w < words.size(); w++) {
    const auto& sym = words[w];
    for (size_t i = 0; i + 1 < sym.size(); i++) {
      uint64_t key = pair_key(sym[i], sym[i + 1]);
      pair_count[key] += freq[w];
      auto& list = where[key];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
  }
  // Max-heap on (count, smaller key first); entries whose count is outdated are skipped.
  using Entry = std::pair<int64_t, uint64_t>;  // (count, ~key)
  std::priority_queue<Entry> heap;
  for (auto& [key, count] : pair_count) heap.push({count, ~key});

  std::vector<uint32_t> stamp(words.size(), 0);
  std::vector<uint64_t> dirty;
  auto add = [&](uint32_t left, uint32_t right, int64_t delta) {
    uint64_t key = pair_key(left, right);
    pair_count[key] += delta;
    dirty.push_back(key);
  };

  for (size_t m = 0; m < merges; m++) {
    if (m % 32 == 0) {
      if (hooks.cancelled && hooks.cancelled()) throw Cancelled();
      if (hooks.progress && m % 512 == 0) hooks.progress("merge", m, merges);
    }
    uint64_t key = 0;
    bool found = false;
    while (!heap.empty()) {
      Entry top = heap.top();
      heap.pop();
      auto it = pair_count.find(~top.second);
      if (it != pair_count.end() && it->second == top.first && top.first > 0) {
        key = ~top.second;
        found = true;
        break;
      }
    }
    if (!found) break;
    uint32_t a = static_cast<uint32_t>(key >> 32), b = static_cast<uint32_t>(key & 0xFFFFFFFFu);
    uint32_t merged = static_cast<uint32_t>(out.tokens.size());
    out.tokens.push_back(out.tokens[a] + out.tokens[b]);
    out.merges.emplace_back(a, b);

    std::vector<uint32_t> list = std::move(where[key]);
    where.erase(key);
    dirty.clear();
    for (uint32_t w : list) {
      if (stamp[w] == m + 1) continue;
      stamp[w] = static_cast<uint32_t>(m + 1);
      auto& sym = words[w];
      int64_t f = freq[w];
      size_t j = 0;  // output length; sym[0, j) is already rewritten
      bool changed = false;
      for (size_t i = 0; i < sym.size();) {
        if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
          changed = true;
          add(a, b, -f);
          if (j > 0) {
            add(sym[j - 1], a, -f);
            add(sym[j - 1], merged, f);
            where[pair_key(sym[j - 1], merged)].push_back(w);
          }
          if (i + 2 < sym.size()) {
            add(b, sym[i + 2], -f);
            add(merged, sym[i + 2], f);
            where[pair_key(merged, sym[i + 2])].push_back(w);
          }
          sym[j++] = merged;
          i += 2;
        } else {
          sym[j++] = sym[i++];
        }
      }
      if (changed) sym.resize(j);
    }
    std::sort(dirty.begin(), dirty.end());
    dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
    for (uint64_t k : dirty) {
      auto it = pair_count.find(k);
      if (it->second > 0) heap.push({it->second, ~k});
      else pair_count.erase(it);
    }
  }
  if (hooks.progress) hooks.progress("merge", out.merges.size(), merges);
  return out;
}

}  // namespace tf::tokenizer
