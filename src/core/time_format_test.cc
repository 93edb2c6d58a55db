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
