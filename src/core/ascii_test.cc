#include "core/ascii.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

TEST(AsciiLowered, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLowered("Content-Type: TEXT/Plain"), "content-type: text/plain");
  // Bytes outside ASCII (here UTF-8 for "É") are left alone, whatever the locale.
  EXPECT_EQ(AsciiLowered("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");
  std::string s = "X-Signature";
  LowerAsciiInPlace(s);
  EXPECT_EQ(s, "x-signature");
}

TEST(EqualsIgnoreAsciiCase, ComparesWholeStringsCaseBlind) {
  EXPECT_TRUE(EqualsIgnoreAsciiCase("HMAC_SHA256", "hmac_sha256"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("hmac_sha256", "hmac_sha25"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("form-data", "form_data"));
  EXPECT_TRUE(StartsWithIgnoreAsciiCase("Bearer abc", "bearer "));
  EXPECT_FALSE(StartsWithIgnoreAsciiCase("Bear", "bearer "));
}

TEST(TrimOws, StripsOnlySpacesAndTabs) {
  EXPECT_EQ(TrimOws(" \t v=1 \t"), "v=1");
  EXPECT_EQ(TrimOws("\r\nv\r\n"), "\r\nv\r\n");
  EXPECT_EQ(TrimOws(" \t "), "");
}

TEST(TrimAsciiWhitespace, StripsLineEndingsToo) {
  EXPECT_EQ(TrimAsciiWhitespace(" Retry-After: 5\r\n"), "Retry-After: 5");
  EXPECT_EQ(TrimAsciiWhitespace("\v\f a b \t"), "a b");
  EXPECT_EQ(TrimAsciiWhitespace("\r\n"), "");
  EXPECT_EQ(TrimAsciiWhitespace(""), "");
}

}  // namespace
}  // namespace handoff
