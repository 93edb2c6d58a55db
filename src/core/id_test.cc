#include "core/id.h"

#include <set>

#include "gtest/gtest.h"

namespace handoff {
namespace {

TEST(NewUuidV7, IsCanonicalVersion7WithRfcVariant) {
  std::string id = NewUuidV7(1'700'000'000'000'000);
  ASSERT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
}

TEST(NewUuidV7, EncodesMillisecondsInFirst48Bits) {
  std::string id = NewUuidV7(
      0x0fedcba98765 * kMicrosPerMilli);  // after the earlier tests: ids are monotonic per process
  EXPECT_EQ(id.substr(0, 13), "0fedcba9-8765");
}

TEST(NewUuidV7, StrictlyIncreasingWithinOneMillisecond) {
  std::string prev = NewUuidV7(0x0fffffffffff * kMicrosPerMilli);
  std::set<std::string> seen{prev};
  for (int i = 0; i < 10000; ++i) {
    std::string next = NewUuidV7(0x0fffffffffff * kMicrosPerMilli);
    EXPECT_LT(prev, next);
    EXPECT_TRUE(seen.insert(next).second);
    prev = next;
  }
}

TEST(IsUuid, RejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("0190a6e2-7b1c-7000-8000-00000000000"));
  EXPECT_FALSE(IsUuid("0190a6e2x7b1c-7000-8000-000000000000"));
  EXPECT_FALSE(IsUuid("0190a6e2-7b1c-7000-8000-00000000000g"));
  EXPECT_TRUE(IsUuid("0190A6E2-7B1C-7000-8000-000000000000"));
}

TEST(RandomHex, HasRequestedLengthAndDiffers) {
  std::string a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace handoff
