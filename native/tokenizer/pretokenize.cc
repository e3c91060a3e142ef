// The cl100k and GPT-2 pre-tokenizer regexes as hand-written matchers (see pretokenize.h).
#include "tokenizer/pretokenize.h"

#include "core/error.h"
#include "tokenizer/char_class.h"

namespace tf::tokenizer {
namespace {

// Length of the contraction ('s 't 're 've 'm 'll 'd) starting at s[p] == '\'', or 0.
// `any_case` accepts upper-case letters too (cl100k lists every case combination).
size_t contraction(const uint8_t* s, size_t n, size_t p, bool any_case) {
  auto lower = [&](size_t i) -> int {
    if (i >= n) return 0;
    int c = s[i];
    if (any_case && c >= 'A' && c <= 'Z') c += 'a' - 'A';
    return c;
  };
  int a = lower(p + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  int b = lower(p + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// End of the run of characters starting at p for which pred(class, first byte) is true.
template <typename Pred>
size_t run_while(const uint8_t* s, size_t n, size_t p, Pred pred) {
  while (p < n) {
    size_t len;
    CharClass c = class_at(s, n, p, &len);
    if (!pred(c, s[p])) break;
    p += len;
  }
  return p;
}

// \s+(?!\S) | \s+ for a whitespace run starting at p: the whole run at the end of the text,
// the run minus its last character when that leaves one or more, else the single character.
size_t space_run(const uint8_t* s, size_t n, size_t p) {
  size_t last_start = p;
  size_t q = p;
  while (q < n) {
    size_t len;
    CharClass c = class_at(s, n, q, &len);
    if (!is_space_class(c)) break;
    last_start = q;
    q += len;
  }
  if (q == n) return q;
  if (last_start > p) return last_start;
  return q;
}

size_t next_cl100k(const uint8_t* s, size_t n, size_t p) {
  size_t len0;
  CharClass c0 = class_at(s, n, p, &len0);
  // 's 't 're 've 'm 'll 'd, any case.
  if (s[p] == '\'') {
    size_t k = contraction(s, n, p, true);
    if (k) return p + k;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  auto letter = [](CharClass c, uint8_t) { return c == kLetter; };
  if (c0 == kLetter) return run_while(s, n, p, letter);
  if (c0 != kNewline && c0 != kNumber && p + len0 < n) {
    size_t len1;
    if (class_at(s, n, p + len0, &len1) == kLetter) return run_while(s, n, p + len0, letter);
  }
  // \p{N}{1,3}
  if (c0 == kNumber) {
    size_t q = p + len0;
    for (int k = 1; k < 3 && q < n; k++) {
      size_t len;
      if (class_at(s, n, q, &len) != kNumber) break;
      q += len;
    }
    return q;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  auto other = [](CharClass c, uint8_t) { return c == kOther; };
  auto newline = [](CharClass, uint8_t b) { return b == '\r' || b == '\n'; };
  size_t start = p;
  if (s[p] == ' ' && p + 1 < n) {
    size_t len1;
    if (class_at(s, n, p + 1, &len1) == kOther) start = p + 1;
  }
  if (start != p || c0 == kOther) return run_while(s, n, run_while(s, n, start, other), newline);
  // Here c0 is whitespace. \s*[\r\n]+ : up to the last \r or \n of the whitespace run.
  size_t q = p, last_newline_end = 0;
  while (q < n) {
    size_t len;
    CharClass c = class_at(s, n, q, &len);
    if (!is_space_class(c)) break;
    q += len;
    if (c == kNewline) last_newline_end = q;
  }
  if (last_newline_end) return last_newline_end;
  // \s+(?!\S) | \s+
  return space_run(s, n, p);
}

size_t next_gpt2(const uint8_t* s, size_t n, size_t p) {
  if (s[p] == '\'') {
    size_t k = contraction(s, n, p, false);
    if (k) return p + k;
  }
  size_t len0;
  CharClass c0 = class_at(s, n, p, &len0);
  // ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+'
  size_t start = p;
  CharClass c = c0;
  if (s[p] == ' ' && p + 1 < n) {
    size_t len1;
    CharClass c1 = class_at(s, n, p + 1, &len1);
    if (!is_space_class(c1)) start = p + 1, c = c1;
  }
  if (!is_space_class(c)) return run_while(s, n, start, [c](CharClass k, uint8_t) { return k == c; });
  return space_run(s, n, p);
}

}  // namespace

Pretokenizer parse_pretokenizer(const std::string& name) {
  if (name == "cl100k") return Pretokenizer::kCl100k;
  if (name == "gpt2") return Pretokenizer::kGpt2;
  throw Error("unknown pre-tokenizer '" + name + "' (expected 'cl100k' or 'gpt2')");
}

size_t next_piece(Pretokenizer kind, const uint8_t* s, size_t n, size_t p) {
  return kind == Pretokenizer::kGpt2 ? next_gpt2(s, n, p) : next_cl100k(s, n, p);
}

}  // namespace tf::tokenizer
