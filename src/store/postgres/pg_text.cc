#include "store/postgres/pg_text.h"

#include "core/utf8.h"

namespace handoff {
namespace {

// U+FDD0 in UTF-8.
constexpr unsigned char kMark[3] = {0xEF, 0xB7, 0x90};

bool IsMarkAt(std::string_view s, size_t i) {
  return s.size() - i >= 3 && static_cast<unsigned char>(s[i]) == kMark[0] &&
         static_cast<unsigned char>(s[i + 1]) == kMark[1] &&
         static_cast<unsigned char>(s[i + 2]) == kMark[2];
}

void AppendEscaped(std::string& out, unsigned char b) {
  for (unsigned char m : kMark) out.push_back(static_cast<char>(m));
  const unsigned cp = 0x100u + b;  // U+0100..U+01FF: two UTF-8 bytes
  out.push_back(static_cast<char>(0xC0u | (cp >> 6)));
  out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
}

// True when `s` needs no escaping: the common case costs one scan and no copy work.
bool PassesUnchanged(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0 || IsMarkAt(s, i)) return false;
    i += len;
  }
  return true;
}

}  // namespace

std::string EncodePgText(std::string_view bytes) {
  if (PassesUnchanged(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 16);
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == 0) {
      AppendEscaped(out, c);
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0 || IsMarkAt(bytes, i)) {
      // A U+FDD0 of the input goes byte by byte, so decoding never mistakes it for a mark.
      AppendEscaped(out, c);
      ++i;
      continue;
    }
    out.append(bytes.substr(i, len));
    i += len;
  }
  return out;
}

std::string DecodePgText(std::string_view text) {
  if (text.find(static_cast<char>(kMark[0])) == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (IsMarkAt(text, i) && text.size() - i >= 5) {
      const auto hi = static_cast<unsigned char>(text[i + 3]);
      const auto lo = static_cast<unsigned char>(text[i + 4]);
      if (hi >= 0xC4 && hi <= 0xC7 && (lo & 0xC0) == 0x80) {
        const unsigned cp = ((hi & 0x1Fu) << 6) | (lo & 0x3Fu);
        out.push_back(static_cast<char>(cp - 0x100u));
        i += 5;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

}  // namespace handoff
