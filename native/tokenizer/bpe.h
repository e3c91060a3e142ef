// Byte-level BPE: an immutable model (vocabulary + merge table) and a per-thread Encoder.
//
// Every token id maps to a byte string. Text is converted to UTF-8, split into pieces by the
// pre-tokenizer (pretokenize.h), and each piece is encoded on its own: start from one token per
// byte, then repeatedly merge the adjacent pair with the lowest rank, the leftmost one when
// several pairs share the lowest rank, until no adjacent pair has a merge rule. Two rule sets
// feed the same algorithm:
//  - from_merges: an ordered merge list (ours, Hugging Face); rank = position in the list and
//    the result is the token whose bytes are the concatenation;
//  - from_ranks: tiktoken-style ranks (cl100k); every split of a token into two tokens is a rule
//    whose rank is the id of the merged token, and a piece that is itself a token is emitted
//    whole before any merging (tiktoken's shortcut), which `whole_piece_first` reproduces.
// Special tokens are ordinary ids with their text as bytes for decoding; encode never produces
// them (special-token strings in text are encoded as plain text).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenize.h"

namespace tf::tokenizer {

enum class TokenKind : uint8_t { kAbsent = 0, kRegular = 1, kSpecial = 2 };

struct Merge {
  uint32_t left, right, result, rank;
};

class Encoder;

class Bpe {
 public:
  // tokens[id] / kinds[id] describe every id; merges are (left, right) ids in priority order.
  // Throws tf::Error (naming the offending entry) when a single byte has no regular token, a
  // merge names a missing id, or a merge's concatenation is not a regular token.
  static std::shared_ptr<const Bpe> from_merges(Pretokenizer pre, std::vector<std::string> tokens,
                                                std::vector<TokenKind> kinds,
                                                const std::vector<std::pair<uint32_t, uint32_t>>& merges,
                                                bool whole_piece_first);
  // Ranks are the ids of the regular tokens (tiktoken); the merge rules are derived.
  static std::shared_ptr<const Bpe> from_ranks(Pretokenizer pre, std::vector<std::string> tokens,
                                               std::vector<TokenKind> kinds);

  size_t vocab_size() const { return tokens_.size(); }
  const std::string& token(uint32_t id) const { return tokens_[id]; }
  // All merge rules sorted by (rank, left, right).
  std::vector<Merge> merges() const;

  // Appends the ids of UTF-8 text s[0, n) to `ids`.
  void encode(const uint8_t* s, size_t n, Encoder& encoder, std::vector<uint32_t>& ids) const;
  // Appends the bytes of the tokens to `out`; throws tf::Error naming `name`[i] for an id that
  // is out of range or unassigned.
  void decode(const uint32_t* ids, size_t n, std::string& out, const char* name = "ids") const;


 private:
  Bpe() = default;
  // Rank and result of the rule merging (left, right); false if there is none.
  bool find_pair(uint32_t left, uint32_t right, uint32_t* rank, uint32_t* result) const;
  // BPE of one piece (no cache), appended to `ids`.
  void encode_piece(const uint8_t* w, size_t n, Encoder& encoder, std::vector<uint32_t>& ids) const;
  void init_tables(std::vector<std::string> tokens, std::vector<TokenKind> kinds);
  void add_rule(uint32_t left, uint32_t right, uint32_t rank, uint32_t result);
  void build_pair_table();

  struct PairSlot {
    uint64_t key;  // left << 32 | right; kEmpty when free
    uint32_t rank;
    uint32_t result;
  };
  static constexpr uint64_t kEmpty = ~0ull;

  Pretokenizer pre_ = Pretokenizer::kCl100k;
  bool whole_piece_first_ = false;
  std::vector<std::string> tokens_;
  std::vector<TokenKind> kinds_;
  uint32_t byte_id_[256] = {};
  // bytes -> id of regular tokens; the views point into tokens_, which never changes after init.
  std::unordered_map<std::string_view, uint32_t> regular_ids_;
  std::vector<Merge> rules_;
  std::vector<PairSlot> pair_slots_;
  uint64_t pair_mask_ = 0;
};

// Per-thread scratch space and a cache of encoded pieces (most text is made of a few thousand
// frequent words). Each cache entry is one 64-byte line holding the piece (up to kMaxCachedBytes
// bytes, zero-padded) and its ids (up to kMaxCachedIds), so a hit touches one cache line. The
// table grows (doubling, open addressing at most half full) up to `max_entries` pieces, then
// stops taking new ones: frequent pieces arrive early, so they are the ones kept.
// Not thread-safe: one Encoder per thread; any number may share one Bpe.
class Encoder {
 public:
  explicit Encoder(size_t max_entries = 1u << 16);

  static constexpr size_t kMaxCachedBytes = 24;
  static constexpr size_t kMaxCachedIds = 7;

  // Appends the cached ids of piece w[0, n) (n <= kMaxCachedBytes) and returns true on a hit.
  bool lookup(const uint8_t* w, size_t n, uint64_t hash, std::vector<uint32_t>& ids) const;
  void insert(const uint8_t* w, size_t n, uint64_t hash, const uint32_t* ids, size_t count);
  // Hints that the entry for `hash` will be looked up soon.
  void prefetch(uint64_t hash) const {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
#else
    (void)hash;
#endif
  }

  // Scratch for Bpe::encode_piece.
  std::vector<uint32_t> part_id, part_rank, part_result, part_prev, part_next;

 private:
  struct alignas(64) Slot {
    uint64_t hash = 0;
    uint8_t key_length = 0;  // 0 = empty
    uint8_t id_count = 0;
    uint32_t ids[kMaxCachedIds] = {};
    uint64_t key[kMaxCachedBytes / 8] = {};
  };
  static_assert(sizeof(Slot) == 64, "one cache line per entry");
  std::vector<Slot> slots_;
  size_t used_ = 0;
  size_t max_entries_;
};

uint64_t hash_bytes(const uint8_t* p, size_t n);

}  // namespace tf::tokenizer
