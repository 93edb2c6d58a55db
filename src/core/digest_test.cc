#include "core/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace handoff {
namespace {

TEST(DigestTest, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc").size(), 32u);
}

// RFC 4231 test case 2 and RFC 2202 test case 2 (key "Jefe").
TEST(DigestTest, HmacMatchesTheRfcVectors) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(DigestTest, HexRoundTripsAndRefusesWhatIsNotHex) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\xa0", 3)), "00ffa0");
  EXPECT_EQ(HexDecode("00ffA0"), std::string("\x00\xff\xa0", 3));
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
}

// An empty key after another key is the empty key, not the one before (OpenSSL keeps the old
// key when given none).
TEST(DigestTest, AnEmptyKeyAfterAnotherIsStillEmpty) {
  const std::string empty_first = HexEncode(HmacSha256("", "message"));
  (void)HmacSha256("some key", "message");
  EXPECT_EQ(HexEncode(HmacSha256("", "message")), empty_first);
  EXPECT_EQ(HexEncode(HmacSha256(std::string_view(), std::string_view())),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// The per-thread context is re-keyed on every call: alternating keys never mix, on any thread.
TEST(DigestTest, EachCallUsesItsOwnKeyOnEveryThread) {
  const std::string a = HexEncode(HmacSha256("key-a", "message"));
  const std::string b = HexEncode(HmacSha256("key-b", "message"));
  ASSERT_NE(a, b);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (HexEncode(HmacSha256("key-a", "message")) != a) ++mismatches[t];
        if (HexEncode(HmacSha256("key-b", "message")) != b) ++mismatches[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace handoff
