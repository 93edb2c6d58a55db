#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace handoff {

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const size_t n = s.size();
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

size_t Utf8ErrorOffset(std::string_view s) {
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII, nearly all of a body, eight bytes at a time: byte by byte, a 4 KB body was 7 % of
    // the HTTP thread.
    while (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof(word));
      if ((word & kHighBits) != 0) break;
      i += 8;
    }
    if (i == n) break;
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace handoff
