// Character classes for the pre-tokenizers and UTF-8 helpers. Text inside the tokenizer is
// always well-formed UTF-8 (produced by utf16_to_utf8), but the decoders here still treat any
// malformed byte as a one-byte character of class kOther, so no input can read out of bounds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tf::tokenizer {

// The classes the GPT-2 and cl100k regexes distinguish. kNewline (\r or \n) is also a space.
enum CharClass : uint8_t {
  kOther = 0,    // anything that is not a letter, number or space (punctuation, symbols, U+FFFD, ...)
  kLetter = 1,   // \p{L}
  kNumber = 2,   // \p{N}
  kSpace = 3,    // JavaScript \s other than \r and \n
  kNewline = 4,  // \r or \n
};

inline bool is_space_class(CharClass c) { return c == kSpace || c == kNewline; }

// Class of a Unicode scalar value.
CharClass char_class(uint32_t cp);

// Classes of the 128 ASCII characters (the fast path).
extern const uint8_t kAsciiClass[128];

// Decodes the character starting at s[p] (p < n): returns its code point and sets *len to its
// byte length (1..4). A malformed sequence yields U+FFFD with *len = 1.
inline uint32_t decode_utf8(const uint8_t* s, size_t n, size_t p, size_t* len) {
  uint8_t b0 = s[p];
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  size_t need;
  uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) need = 1, cp = b0 & 0x1F;
  else if ((b0 & 0xF0) == 0xE0) need = 2, cp = b0 & 0x0F;
  else if ((b0 & 0xF8) == 0xF0) need = 3, cp = b0 & 0x07;
  else {
    *len = 1;
    return 0xFFFD;
  }
  if (p + need >= n) {
    *len = 1;
    return 0xFFFD;
  }
  for (size_t k = 1; k <= need; k++) {
    uint8_t b = s[p + k];
    if ((b & 0xC0) != 0x80) {
      *len = 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = need + 1;
  return cp;
}

// Class of the character at s[p]; sets *len to its byte length.
inline CharClass class_at(const uint8_t* s, size_t n, size_t p, size_t* len) {
  uint8_t b0 = s[p];
  if (b0 < 0x80) {
    *len = 1;
    return static_cast<CharClass>(kAsciiClass[b0]);
  }
  uint32_t cp = decode_utf8(s, n, p, len);
  return char_class(cp);
}

// Converts UTF-16 to UTF-8; a lone (unpaired) surrogate becomes U+FFFD (EF BF BD), as
// TextEncoder does. When `u16_of_byte` is given it receives, for every output byte, the UTF-16
// index where that byte's character starts, plus one final entry equal to n (the text length).
void utf16_to_utf8(const char16_t* s, size_t n, std::string& out, std::vector<uint32_t>* u16_of_byte);

}  // namespace tf::tokenizer
