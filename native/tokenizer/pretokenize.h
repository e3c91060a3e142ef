// Pre-tokenization: splitting UTF-8 text into the pieces ("words") that BPE encodes one by one.
// Two hand-written matchers reproduce the regexes of OpenAI's tokenizers exactly, with the
// character classes JavaScript's regex engine uses (char_class.h):
//
//  kCl100k  ('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)
//           |[^\r\n\p{L}\p{N}]?\p{L}+ |\p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n]* |\s*[\r\n]+
//           |\s+(?!\S) |\s+
//           (cl100k_base; also Llama 3's pattern). Used by tokenizers we train.
//  kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//           (GPT-2 / r50k, and Hugging Face's ByteLevel pre-tokenizer with use_regex = true).
//
// Alternatives are tried in order at each position, with the regex's greedy/backtracking
// semantics (e.g. \s+(?!\S) before a word leaves the last space to the word that follows).
// Apostrophes are ASCII U+0027 only. Matching is on code points, so a piece never splits a
// character. \s is JavaScript's (what js-tiktoken sees), which differs from the Rust regex
// behind Hugging Face `tokenizers` in two code points: U+FEFF is a space here and U+0085 is not;
// Rust's case-insensitive (?i:'s) also accepts U+017F (long s). Text with those characters can
// split differently from Hugging Face, never from js-tiktoken.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace tf::tokenizer {

enum class Pretokenizer : uint8_t { kCl100k = 0, kGpt2 = 1 };

// Parses "cl100k" or "gpt2"; throws tf::Error otherwise.
Pretokenizer parse_pretokenizer(const std::string& name);

// End (exclusive byte offset) of the piece that starts at byte p of s[0, n); requires p < n.
size_t next_piece(Pretokenizer kind, const uint8_t* s, size_t n, size_t p);

}  // namespace tf::tokenizer
