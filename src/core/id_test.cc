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

TEST(UuidV7Floor, SeparatesEarlierMillisecondsFromLaterOnes) {
  const Micros t = 1'764'000'000'123'456;  // 2025-11-24T16:00:00.123456Z
  EXPECT_EQ(UuidV7Floor(t), "019ab697-e87b");
  EXPECT_EQ(UuidV7Floor(0), "00000000-0000");
  // The highest id of the millisecond before sorts below; the lowest of its own above. Also
  // across a carry (…0fff ms to …1000 ms).
  for (Micros at : {t, Micros{1'763'889'385'472'000}}) {
    const std::string floor = UuidV7Floor(at);
    EXPECT_LT(UuidV7Floor(at - kMicrosPerMilli) + "-7fff-bfff-ffffffffffff", floor);
    EXPECT_GT(floor + "-7000-8000-000000000000", floor);
    EXPECT_LT(floor + "-7fff-bfff-ffffffffffff", UuidV7Floor(at + kMicrosPerMilli));
  }
  // NewUuidV7 writes the same 13 characters for a time later than any it was given before in
  // this process (it keeps its ids increasing; the tests above go up to 0x0fffffffffff ms).
  const Micros later = Micros{0x200000000000} * kMicrosPerMilli;
  EXPECT_EQ(NewUuidV7(later).substr(0, 13), UuidV7Floor(later));
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
