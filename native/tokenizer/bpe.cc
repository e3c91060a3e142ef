// Byte-level BPE model construction, piece encoding (quadratic scan for short pieces, a heap
// for long ones; both merge the lowest-rank, leftmost pair first) and the per-thread cache.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>

#include "core/error.h"

namespace tf::tokenizer {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// Pieces up to this many bytes use the simple O(n^2) scan; longer ones the O(n log n) heap.
constexpr size_t kHeapThreshold = 64;

uint64_t pair_key(uint32_t left, uint32_t right) { return (static_cast<uint64_t>(left) << 32) | right; }

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::string hex_byte(uint8_t b) {
  const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xC2B2AE3D27D4EB4FULL);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0x9FB21C651E98DF25ULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  h = (h ^ v) * 0x9FB21C651E98DF25ULL;
  return mix(h);
}

void Bpe::init_tables(std::vector<std::string> tokens, std::vector<TokenKind> kinds) {
  check(tokens.size() == kinds.size(), "tokenizer: token and kind lists differ in length");
  check(tokens.size() < kNone, "tokenizer: too many tokens");
  tokens_ = std::move(tokens);
  kinds_ = std::move(kinds);
  regular_ids_.reserve(tokens_.size() * 2);
  for (uint32_t id = 0; id < tokens_.size(); id++) {
    if (kinds_[id] == TokenKind::kAbsent) {
      tokens_[id].clear();
      continue;
    }
    check(!tokens_[id].empty(), "tokenizer: token " + std::to_string(id) + " is empty");
    if (kinds_[id] != TokenKind::kRegular) continue;
    auto inserted = regular_ids_.emplace(std::string_view(tokens_[id]), id);
    check(inserted.second, "tokenizer: tokens " + std::to_string(inserted.first->second) + " and " +
                               std::to_string(id) + " have the same bytes");
  }
  for (int b = 0; b < 256; b++) {
    char byte = static_cast<char>(b);
    auto it = regular_ids_.find(std::string_view(&byte, 1));
    check(it != regular_ids_.end(), "tokenizer: byte " + hex_byte(static_cast<uint8_t>(b)) +
                                        " has no token (a byte-level BPE needs all 256 single bytes)");
    byte_id_[b] = it->second;
  }
}

void Bpe::add_rule(uint32_t left, uint32_t right, uint32_t rank, uint32_t result) {
  rules_.push_back({left, right, result, rank});
}

void Bpe::build_pair_table() {
  size_t capacity = 16;
  while (capacity < rules_.size() * 2) capacity *= 2;
  pair_slots_.assign(capacity, PairSlot{kEmpty, 0, 0});
  pair_mask_ = capacity - 1;
  std::vector<Merge> kept;
  kept.reserve(rules_.size());
  for (const Merge& m : rules_) {
    uint64_t key = pair_key(m.left, m.right);
    uint64_t i = mix(key) & pair_mask_;
    while (pair_slots_[i].key != kEmpty && pair_slots_[i].key != key) i = (i + 1) & pair_mask_;
    if (pair_slots_[i].key == key) continue;  // a repeated merge: the first (lowest rank) wins
    pair_slots_[i] = PairSlot{key, m.rank, m.result};
    kept.push_back(m);
  }
  rules_ = std::move(kept);
  std::sort(rules_.begin(), rules_.end(), [](const Merge& a, const Merge& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.left != b.left) return a.left < b.left;
    return a.right < b.right;
  });
}

std::shared_ptr<const Bpe> Bpe::from_merges(Pretokenizer pre, std::vector<std::string> tokens,
                                            std::vector<TokenKind> kinds,
                                            const std::vector<std::pair<uint32_t, uint32_t>>& merges,
                                            bool whole_piece_first) {
  std::shared_ptr<Bpe> bpe(new Bpe());
  bpe->pre_ = pre;
  bpe->whole_piece_first_ = whole_piece_first;
  bpe->init_tables(std::move(tokens), std::move(kinds));
  bpe->rules_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); i++) {
    auto [left, right] = merges[i];
    for (uint32_t id : {left, right})
      check(id < bpe->tokens_.size() && bpe->kinds_[id] == TokenKind::kRegular,
            "tokenizer: merge " + std::to_string(i) + " names " + std::to_string(id) + ", which is not a regular token");
    auto it = bpe->regular_ids_.find(bpe->tokens_[left] + bpe->tokens_[right]);
    check(it != bpe->regular_ids_.end(),
          "tokenizer: merge " + std::to_string(i) + " (" + std::to_string(left) + ", " + std::to_string(right) +
              ") makes a string that is not in the vocabulary");
    bpe->add_rule(left, right, static_cast<uint32_t>(i), it->second);
  }
  bpe->build_pair_table();
  return bpe;
}

std::shared_ptr<const Bpe> Bpe::from_ranks(Pretokenizer pre, std::vector<std::string> tokens,
                                           std::vector<TokenKind> kinds) {
  std::shared_ptr<Bpe> bpe(new Bpe());
  bpe->pre_ = pre;
  bpe->whole_piece_first_ = true;
  bpe->init_tables(std::move(tokens), std::move(kinds));
  for (uint32_t id = 0; id < bpe->tokens_.size(); id++) {
    if (bpe->kinds_[id] != TokenKind::kRegular) continue;
    std::string_view t(bpe->tokens_[id]);
    for (size_t k = 1; k < t.size(); k++) {
      auto left = bpe->regular_ids_.find(t.substr(0, k));
      if (left == bpe->regular_ids_.end()) continue;
      auto right = bpe->regular_ids_.find(t.substr(k));
      if (right == bpe->regular_ids_.end()) continue;
      bpe->add_rule(left->second, right->second, id, id);
    }
  }
  bpe->build_pair_table();
  return bpe;
}

std::vector<Merge> Bpe::merges() const { return rules_; }

bool Bpe::find_pair(uint32_t left, uint32_t right, uint32_t* rank, uint32_t* result) const {
  uint64_t key = pair_key(left, right);
  uint64_t i = mix(key) & pair_mask_;
  while (true) {
    const PairSlot& slot = pair_slots_[i];
    if (slot.key == key) {
      *rank = slot.rank;
      *result = slot.result;
      return true;
    }
    if (slot.key == kEmpty) return false;
    i = (i + 1) & pair_mask_;
  }
}

void Bpe::encode_piece(const uint8_t* w, size_t n, Encoder& e, std::vector<uint32_t>& ids) const {
  if (n == 1) {
    ids.push_back(byte_id_[w[0]]);
    return;
  }
  if (whole_piece_first_) {
    auto it = regular_ids_.find(std::string_view(reinterpret_cast<const char*>(w), n));
    if (it != regular_ids_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  auto& id = e.part_id;
  auto& rank = e.part_rank;
  auto& result = e.part_result;
  id.resize(n);
  rank.resize(n);
  result.resize(n);
  for (size_t i = 0; i < n; i++) id[i] = byte_id_[w[i]];
  auto rule = [&](size_t i, size_t j) {
    if (!find_pair(id[i], id[j], &rank[i], &result[i])) rank[i] = kNone;
  };
  if (n <= kHeapThreshold) {
    size_t m = n;
    for (size_t i = 0; i + 1 < m; i++) rule(i, i + 1);
    while (m > 1) {
      size_t best = 0;
      uint32_t best_rank = rank[0];
      for (size_t i = 1; i + 1 < m; i++)
        if (rank[i] < best_rank) best_rank = rank[i], best = i;
      if (best_rank == kNone) break;
      id[best] = result[best];
      std::memmove(&id[best + 1], &id[best + 2], (m - best - 2) * sizeof(uint32_t));
      std::memmove(&rank[best], &rank[best + 1], (m - best - 2) * sizeof(uint32_t));
      std::memmove(&result[best], &result[best + 1], (m - best - 2) * sizeof(uint32_t));
      m--;
      if (best > 0) rule(best - 1, best);
      if (best + 1 < m) rule(best, best + 1);
    }
    ids.insert(ids.end(), id.begin(), id.begin() + m);
    return;
  }
  // Long piece: doubly linked symbols and a min-heap of (rank, position) candidate pairs;
  // stale entries (a side already merged away) are skipped when popped.
  auto& prev = e.part_prev;
  auto& next = e.part_next;
  prev.resize(n);
  next.resize(n);
  for (size_t i = 0; i < n; i++) {
    prev[i] = i == 0 ? kNone : static_cast<uint32_t>(i - 1);
    next[i] = i + 1 == n ? kNone : static_cast<uint32_t>(i + 1);
  }
  struct Candidate {
    uint32_t rank, pos, left, right, result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](uint32_t i) {
    uint32_t j = next[i];
    uint32_t r, res;
    if (j != kNone && find_pair(id[i], id[j], &r, &res)) heap.push({r, i, id[i], id[j], res});
  };
  for (uint32_t i = 0; i + 1 < n; i++) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    uint32_t j = next[c.pos];
    if (id[c.pos] != c.left || j == kNone || id[j] != c.right) continue;
    id[c.pos] = c.result;
    id[j] = kNone;
    next[c.pos] = next[j];
    if (next[j] != kNone) prev[next[j]] = c.pos;
    if (prev[c.pos] != kNone) push(prev[c.pos]);
    push(c.pos);
  }
  for (uint32_t i = 0; i != kNone; i = next[i]) ids.push_back(id[i]);
}

void Bpe::encode(const uint8_t* s, size_t n, Encoder& e, std::vector<uint32_t>& ids) const {
  // Pieces are found and hashed a batch ahead of their encoding, and their cache lines are
  // prefetched, so the cache lookups' memory latency overlaps.
  constexpr size_t kBatch = 16;
  struct Piece {
    size_t start, end;
    uint64_t hash;
  };
  Piece batch[kBatch];
  size_t p = 0;
  while (p < n) {
    size_t count = 0;
    while (count < kBatch && p < n) {
      size_t end = next_piece(pre_, s, n, p);
      uint64_t h = 0;
      if (end - p > 1 && end - p <= Encoder::kMaxCachedBytes) {
        h = hash_bytes(s + p, end - p);
        e.prefetch(h);
      }
      batch[count++] = {p, end, h};
      p = end;
    }
    for (size_t k = 0; k < count; k++) {
      const Piece& piece = batch[k];
      size_t len = piece.end - piece.start;
      const uint8_t* w = s + piece.start;
      if (len == 1) {
        ids.push_back(byte_id_[w[0]]);
      } else if (len <= Encoder::kMaxCachedBytes) {
        if (!e.lookup(w, len, piece.hash, ids)) {
          size_t before = ids.size();
          encode_piece(w, len, e, ids);
          e.insert(w, len, piece.hash, ids.data() + before, ids.size() - before);
        }
      } else {
        encode_piece(w, len, e, ids);
      }
    }
  }
}

void Bpe::decode(const uint32_t* ids, size_t n, std::string& out, const char* name) const {
  for (size_t i = 0; i < n; i++) {
    uint32_t id = ids[i];
    if (id >= tokens_.size() || kinds_[id] == TokenKind::kAbsent)
      throw Error(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(id) +
                  " is not a token id (vocabulary size " + std::to_string(tokens_.size()) + ")");
    out += tokens_[id];
  }
}

Encoder::Encoder(size_t max_entries) : slots_(1u << 10), max_entries_(max_entries) {}

namespace {
// The piece zero-padded to the cache's key width.
void padded_key(const uint8_t* w, size_t n, uint64_t key[Encoder::kMaxCachedBytes / 8]) {
  uint8_t bytes[Encoder::kMaxCachedBytes] = {};
  std::memcpy(bytes, w, n);
  std::memcpy(key, bytes, sizeof(bytes));
}
}  // namespace

bool Encoder::lookup(const uint8_t* w, size_t n, uint64_t hash, std::vector<uint32_t>& ids) const {
  uint64_t key[kMaxCachedBytes / 8];
  padded_key(w, n, key);
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key_length == 0) return false;
    if (s.hash == hash && s.key_length == n && s.key[0] == key[0] && s.key[1] == key[1] && s.key[2] == key[2]) {
      ids.insert(ids.end(), s.ids, s.ids + s.id_count);
      return true;
    }
  }
}

void Encoder::insert(const uint8_t* w, size_t n, uint64_t hash, const uint32_t* ids, size_t count) {
  if (n == 0 || n > kMaxCachedBytes || count > kMaxCachedIds || used_ >= max_entries_) return;
  if (2 * (used_ + 1) > slots_.size()) {  // grow and re-place
    std::vector<Slot> bigger(slots_.size() * 2);
    size_t mask = bigger.size() - 1;
    for (const Slot& s : slots_) {
      if (s.key_length == 0) continue;
      size_t i = s.hash & mask;
      while (bigger[i].key_length != 0) i = (i + 1) & mask;
      bigger[i] = s;
    }
    slots_.swap(bigger);
  }
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].key_length != 0) i = (i + 1) & mask;
  Slot& s = slots_[i];
  s.hash = hash;
  s.key_length = static_cast<uint8_t>(n);
  s.id_count = static_cast<uint8_t>(count);
  std::memcpy(s.ids, ids, count * sizeof(uint32_t));
  padded_key(w, n, s.key);
  used_++;
}

}  // namespace tf::tokenizer
