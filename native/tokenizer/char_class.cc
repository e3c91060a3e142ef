// Character classification from the generated range tables: a 64 Ki-entry table for the Basic
// Multilingual Plane, built once, and binary search above it.
#include "tokenizer/char_class.h"

#include <algorithm>
#include <array>

#include "tokenizer/unicode_tables.h"

namespace tf::tokenizer {
namespace {

bool in_ranges(const CodePointRange* ranges, size_t count, uint32_t cp) {
  const CodePointRange* end = ranges + count;
  const CodePointRange* it =
      std::upper_bound(ranges, end, cp, [](uint32_t v, const CodePointRange& r) { return v < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

CharClass slow_class(uint32_t cp) {
  if (cp == '\r' || cp == '\n') return kNewline;
  if (in_ranges(kLetterRanges, kLetterRanges_count, cp)) return kLetter;
  if (in_ranges(kNumberRanges, kNumberRanges_count, cp)) return kNumber;
  if (in_ranges(kSpaceRanges, kSpaceRanges_count, cp)) return kSpace;
  return kOther;
}

struct BmpTable {
  std::array<uint8_t, 0x10000> cls;
  BmpTable() {
    for (uint32_t cp = 0; cp < 0x10000; cp++) cls[cp] = slow_class(cp);
  }
};

const BmpTable& bmp() {
  static const BmpTable table;
  return table;
}

struct AsciiTable {
  std::array<uint8_t, 128> cls;
  constexpr AsciiTable() : cls() {
    for (int c = 0; c < 128; c++) {
      uint8_t k = kOther;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k = kLetter;
      else if (c >= '0' && c <= '9') k = kNumber;
      else if (c == '\r' || c == '\n') k = kNewline;
      else if (c == ' ' || c == '\t' || c == '\v' || c == '\f') k = kSpace;
      cls[c] = k;
    }
  }
};

constexpr AsciiTable kAscii;

}  // namespace

const uint8_t kAsciiClass[128] = {
#define TF_ROW(i) kAscii.cls[i], kAscii.cls[i + 1], kAscii.cls[i + 2], kAscii.cls[i + 3], kAscii.cls[i + 4], \
                  kAscii.cls[i + 5], kAscii.cls[i + 6], kAscii.cls[i + 7]
    TF_ROW(0),  TF_ROW(8),  TF_ROW(16), TF_ROW(24), TF_ROW(32), TF_ROW(40), TF_ROW(48), TF_ROW(56),
    TF_ROW(64), TF_ROW(72), TF_ROW(80), TF_ROW(88), TF_ROW(96), TF_ROW(104), TF_ROW(112), TF_ROW(120),
#undef TF_ROW
};

CharClass char_class(uint32_t cp) {
  if (cp < 0x10000) return static_cast<CharClass>(bmp().cls[cp]);
  return slow_class(cp);
}

void utf16_to_utf8(const char16_t* s, size_t n, std::string& out, std::vector<uint32_t>* u16_of_byte) {
  out.resize(3 * n);  // at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units)
  auto* o = reinterpret_cast<uint8_t*>(&out[0]);
  uint32_t* map = nullptr;
  if (u16_of_byte) {
    u16_of_byte->resize(3 * n + 1);
    map = u16_of_byte->data();
  }
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp = s[i];
    if (cp < 0x80) {  // ASCII run
      do {
        if (map) map[w] = static_cast<uint32_t>(i);
        o[w++] = static_cast<uint8_t>(cp);
        if (++i == n) break;
        cp = s[i];
      } while (cp < 0x80);
      continue;
    }
    size_t units = 1;
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      units = 2;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;  // lone surrogate
    }
    size_t before = w;
    if (cp < 0x800) {
      o[w++] = static_cast<uint8_t>(0xC0 | (cp >> 6));
      o[w++] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      o[w++] = static_cast<uint8_t>(0xE0 | (cp >> 12));
      o[w++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      o[w++] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    } else {
      o[w++] = static_cast<uint8_t>(0xF0 | (cp >> 18));
      o[w++] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
      o[w++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      o[w++] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    }
    if (map)
      for (size_t b = before; b < w; b++) map[b] = static_cast<uint32_t>(i);
    i += units;
  }
  out.resize(w);
  if (u16_of_byte) {
    (*u16_of_byte)[w] = static_cast<uint32_t>(n);
    u16_of_byte->resize(w + 1);
  }
}

}  // namespace tf::tokenizer
