#include "core/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace handoff {
namespace {

// The offset byte by byte, as Utf8ErrorOffset was before it read ASCII eight bytes at a time.
size_t ByteByByte(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

TEST(Utf8ErrorOffset, ValidTextHasNone) {
  EXPECT_EQ(Utf8ErrorOffset(""), std::string_view::npos);
  EXPECT_EQ(Utf8ErrorOffset("plain ascii, longer than one word of eight"), std::string_view::npos);
  EXPECT_EQ(Utf8ErrorOffset("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA7 after the wrench"),
            std::string_view::npos);
}

TEST(Utf8ErrorOffset, NamesTheFirstBadByte) {
  EXPECT_EQ(Utf8ErrorOffset("\xFF"), 0u);
  EXPECT_EQ(Utf8ErrorOffset("abcdefgh\x80"), 8u);                   // a stray continuation
  EXPECT_EQ(Utf8ErrorOffset("abcdefghijklmno\xC0\xAF"), 15u);       // an overlong '/'
  EXPECT_EQ(Utf8ErrorOffset("abcdefg\xED\xA0\x80 surrogate"), 7u);  // U+D800
  EXPECT_EQ(Utf8ErrorOffset("ok \xC3\xA9 then cut \xE2\x82"), 15u);
  EXPECT_EQ(Utf8ErrorOffset(std::string("nul\0is fine\xF5", 12)), 11u);  // past U+10FFFF
}

// Every placement of a bad byte, a multi-byte sequence and a cut-short one against the word
// boundaries of the ASCII runs around them gives what the byte-by-byte walk gives.
TEST(Utf8ErrorOffset, AgreesWithTheByteByByteWalkAcrossWordBoundaries) {
  const std::string pieces[] = {"\x80",     "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x94\xA7",
                                "\xE2\x82", "\xC0\xAF", "\xFF",         "\xED\xA0\x80"};
  for (size_t before = 0; before < 20; ++before) {
    for (size_t after = 0; after < 20; ++after) {
      for (const std::string& piece : pieces) {
        for (const std::string& second : pieces) {
          const std::string s = std::string(before, 'a') + piece + std::string(after, 'b') +
                                second + std::string(before, 'c');
          ASSERT_EQ(Utf8ErrorOffset(s), ByteByByte(s)) << before << " " << after;
        }
      }
    }
  }
}

}  // namespace
}  // namespace handoff
