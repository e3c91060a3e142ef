// Code-point classes used by the pre-tokenizers, generated from JavaScript's own regex engine
// (scripts/gen-unicode-tables.mjs) so that the native split matches js-tiktoken's regex:
// letters = \p{L}, numbers = \p{N}, spaces = JavaScript's \s (WhiteSpace + LineTerminator:
// includes U+FEFF, excludes U+0085, unlike Unicode's White_Space property).
#pragma once
#include <cstddef>
#include <cstdint>

namespace tf::tokenizer {

struct CodePointRange {
  uint32_t first;
  uint32_t last;  // inclusive
};

extern const char* const kUnicodeVersion;
extern const CodePointRange kLetterRanges[];
extern const size_t kLetterRanges_count;
extern const CodePointRange kNumberRanges[];
extern const size_t kNumberRanges_count;
extern const CodePointRange kSpaceRanges[];
extern const size_t kSpaceRanges_count;

}  // namespace tf::tokenizer
