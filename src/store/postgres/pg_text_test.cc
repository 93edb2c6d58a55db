#include "store/postgres/pg_text.h"

#include <string>

#include "core/utf8.h"
#include "gtest/gtest.h"

namespace handoff {
namespace {

std::string Bytes(const char* s, size_t n) { return std::string(s, n); }

TEST(PgText, ValidUtf8WithoutNulPassesUnchanged) {
  for (const std::string& s : {std::string(""), std::string("Ana Lima"),
                               std::string("\u00fcn\u00efc\u00f6d\u00e9 \u2713 \U0001F600"),
                               std::string("Porto'); DROP TABLE inquiries; --")}) {
    EXPECT_EQ(EncodePgText(s), s);
    EXPECT_EQ(DecodePgText(s), s);
  }
}

TEST(PgText, EveryByteStringRoundTripsAndEncodesToValidUtf8WithoutNul) {
  const std::string cases[] = {
      Bytes("a\0b", 3),
      Bytes("\xff\xfe", 2),
      Bytes("cut \xe2\x9c", 6),          // a sequence cut short
      Bytes("\xc0\x80", 2),              // overlong NUL
      Bytes("\xed\xa0\x80", 3),          // a surrogate
      "mark \xef\xb7\x90 in the input",  // U+FDD0 itself
      Bytes("\xef\xb7\x90\xc4\x80", 5),  // what an escape looks like, as input
  };
  for (const std::string& s : cases) {
    const std::string encoded = EncodePgText(s);
    EXPECT_EQ(Utf8ErrorOffset(encoded), std::string::npos) << s;
    EXPECT_EQ(encoded.find('\0'), std::string::npos) << s;
    EXPECT_EQ(DecodePgText(encoded), s);
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(DecodePgText(EncodePgText(all)), all);
}

TEST(PgText, EscapingKeepsTheValidPartsSearchable) {
  // A substring search on the stored text still finds what the lead wrote around a NUL.
  const std::string encoded = EncodePgText(Bytes("need a quote\0for tuesday", 24));
  EXPECT_NE(encoded.find("need a quote"), std::string::npos);
  EXPECT_NE(encoded.find("for tuesday"), std::string::npos);
}

}  // namespace
}  // namespace handoff
