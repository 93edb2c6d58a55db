#include "core/time_format.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1'764'410'400'123'456), "2025-11-29T10:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(951'782'399'999'000), "2000-02-28T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(951'868'800'000'000), "2000-03-01T00:00:00.000Z");  // leap day passed
  EXPECT_EQ(FormatRfc3339(-1'000), "1969-12-31T23:59:59.999Z");
}

// The digits are written by hand; the parser, written apart, checks every field of them over
// four centuries of times (each a whole millisecond, which is what the format keeps).
TEST(Rfc3339, FormatReadsBackAcrossCenturies) {
  const Micros from = -2'208'988'800'000'000;  // 1900-01-01
  const Micros step = 7'919'999'937'001;       // about 92 days, never a round figure
  for (Micros t = from; t < 10'000'000'000'000'000; t += step) {
    const Micros millis = t - ((t % kMicrosPerMilli) + kMicrosPerMilli) % kMicrosPerMilli;
    const std::string text = FormatRfc3339(t);
    ASSERT_EQ(text.size(), 24u) << text;
    auto back = ParseRfc3339(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, millis) << text;
  }
  // Past year 9999 the four digits give out; the year is written whole.
  EXPECT_EQ(FormatRfc3339(253'402'300'800'000'000), "10000-01-01T00:00:00.000Z");
}

TEST(Rfc3339, ParsesZuluOffsetsFractionsAndDates) {
  EXPECT_EQ(*ParseRfc3339("2025-11-29T10:00:00.123456Z"), 1'764'410'400'123'456);
  EXPECT_EQ(*ParseRfc3339("2025-11-29T11:00:00+01:00"), 1'764'410'400'000'000);
  EXPECT_EQ(*ParseRfc3339("2025-11-29T02:00:00-08:00"), 1'764'410'400'000'000);
  EXPECT_EQ(*ParseRfc3339("1970-01-02"), kMicrosPerDay);
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339(1'764'410'400'123'000)), 1'764'410'400'123'000);
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* s :
       {"", "2025", "2025-13-01", "2025-02-30", "2025-11-29T10:00", "2025-11-29T10:00:00",
        "2025-11-29T25:00:00Z", "2025-11-29T10:00:00.Z", "2025-11-29T10:00:00Zjunk", "yesterday"}) {
    EXPECT_FALSE(ParseRfc3339(s).ok()) << s;
  }
}

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(*ParseDuration("250ms"), 250 * kMicrosPerMilli);
  EXPECT_EQ(*ParseDuration("30s"), 30 * kMicrosPerSecond);
  EXPECT_EQ(*ParseDuration("5m"), 5 * kMicrosPerMinute);
  EXPECT_EQ(*ParseDuration("2h"), 2 * kMicrosPerHour);
  EXPECT_EQ(*ParseDuration("1d"), kMicrosPerDay);
  EXPECT_EQ(*ParseDuration("1h30m"), 90 * kMicrosPerMinute);
}

TEST(Duration, RejectsMalformed) {
  for (const char* s : {"", "5", "m", "-5m", "5 m", "5y", "1.5h", "99999999999s"}) {
    EXPECT_FALSE(ParseDuration(s).ok()) << s;
  }
}

TEST(Duration, FormatsCompactly) {
  EXPECT_EQ(FormatDuration(250 * kMicrosPerMilli), "250.0ms");
  EXPECT_EQ(FormatDuration(5 * kMicrosPerMinute), "5m");
  EXPECT_EQ(FormatDuration(2 * kMicrosPerHour + 3 * kMicrosPerMinute), "2h3m");
}

}  // namespace
}  // namespace handoff
