#include "http/url_encoding.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(*PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(*PercentDecode("%e2%9C%93", false), "\xe2\x9c\x93");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  EXPECT_FALSE(PercentDecode("%", true));
  EXPECT_FALSE(PercentDecode("%2", true));
  EXPECT_FALSE(PercentDecode("abc%zz", true));
}

TEST(ParseUrlEncoded, KeepsOrderRepeatsAndEmptyValues) {
  auto p = ParseUrlEncoded("a=1&b=x+y&&a=2&flag");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ((*p)[1], (std::pair<std::string, std::string>{"b", "x y"}));
  EXPECT_EQ((*p)[2], (std::pair<std::string, std::string>{"a", "2"}));
  EXPECT_EQ((*p)[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_FALSE(ParseUrlEncoded("a=%G1"));
  EXPECT_TRUE(ParseUrlEncoded("")->empty());
}

TEST(PercentEncode, RoundTrips) {
  std::string s = "Ana Ortiz & Co/+1 (415) ✓";
  EXPECT_EQ(*PercentDecode(PercentEncode(s), false), s);
  EXPECT_EQ(PercentEncode("a b"), "a%20b");
}

}  // namespace
}  // namespace handoff
