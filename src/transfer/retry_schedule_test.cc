#include "transfer/retry_schedule.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace handoff {
namespace {

UniformRandom Fixed(double u) {
  return [u] { return u; };
}

TEST(RetrySchedule, FirstAttemptIsImmediate) {
  RetrySchedule s({kMicrosPerSecond}, 0.2, Fixed(0.9));
  EXPECT_EQ(s.DelayBeforeAttempt(1), 0);
}

TEST(RetrySchedule, JitterExtremesAreTheBounds) {
  RetrySchedule low({10 * kMicrosPerSecond}, 0.2, Fixed(0.0));
  RetrySchedule mid({10 * kMicrosPerSecond}, 0.2, Fixed(0.5));
  EXPECT_EQ(low.DelayBeforeAttempt(2), 8 * kMicrosPerSecond);
  EXPECT_EQ(mid.DelayBeforeAttempt(2), 10 * kMicrosPerSecond);
}

TEST(RetrySchedule, JitterStaysWithinBoundsAndSpreads) {
  const std::vector<Micros> base = DefaultRetrySchedule();
  ASSERT_EQ(base.size(), 7u);
  RetrySchedule s(base, 0.2, MakeUniformRandom(12345));
  for (int attempt = 2; attempt <= s.max_attempts(); ++attempt) {
    const double b = static_cast<double>(base[static_cast<size_t>(attempt - 2)]);
    Micros lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      auto d = s.DelayBeforeAttempt(attempt);
      ASSERT_TRUE(d.has_value());
      ASSERT_GE(static_cast<double>(*d), b * 0.8 - 1) << attempt;
      ASSERT_LE(static_cast<double>(*d), b * 1.2 + 1) << attempt;
      lo = std::min(lo, *d);
      hi = std::max(hi, *d);
    }
    // 2000 uniform draws cover most of the ±20% band; a schedule without jitter would not.
    EXPECT_LT(static_cast<double>(lo), b * 0.85) << attempt;
    EXPECT_GT(static_cast<double>(hi), b * 1.15) << attempt;
  }
}

TEST(RetrySchedule, SeededSourcesAreReproducible) {
  RetrySchedule a(DefaultRetrySchedule(), 0.2, MakeUniformRandom(7));
  RetrySchedule b(DefaultRetrySchedule(), 0.2, MakeUniformRandom(7));
  for (int attempt = 2; attempt <= 8; ++attempt) {
    EXPECT_EQ(a.DelayBeforeAttempt(attempt), b.DelayBeforeAttempt(attempt));
  }
}

TEST(RetrySchedule, ExhaustedAfterLastDelay) {
  RetrySchedule s(DefaultRetrySchedule(), 0.2, Fixed(0.5));
  EXPECT_EQ(s.max_attempts(), 8);
  EXPECT_EQ(s.DelayBeforeAttempt(2), 5 * kMicrosPerSecond);
  EXPECT_EQ(s.DelayBeforeAttempt(8), 10 * kMicrosPerHour);
  EXPECT_FALSE(s.DelayBeforeAttempt(9).has_value());
  EXPECT_FALSE(s.DelayBeforeAttempt(9, kMicrosPerSecond).has_value());

  RetrySchedule none({}, 0.2, Fixed(0.5));
  EXPECT_EQ(none.max_attempts(), 1);
  EXPECT_FALSE(none.DelayBeforeAttempt(2).has_value());
}

TEST(RetrySchedule, RetryAfterOverridesOnlyWhenLarger) {
  RetrySchedule s({10 * kMicrosPerSecond}, 0.2, Fixed(0.5));
  EXPECT_EQ(s.DelayBeforeAttempt(2, 60 * kMicrosPerSecond), 60 * kMicrosPerSecond);
  EXPECT_EQ(s.DelayBeforeAttempt(2, 2 * kMicrosPerSecond), 10 * kMicrosPerSecond);
  EXPECT_EQ(s.DelayBeforeAttempt(2, 0), 10 * kMicrosPerSecond);
}

TEST(RetrySchedule, RetryAfterIsCapped) {
  RetrySchedule s({kMicrosPerSecond}, 0.2, Fixed(0.5));
  EXPECT_EQ(s.DelayBeforeAttempt(2, 400 * kMicrosPerDay), RetrySchedule::kMaxRetryAfter);
}

TEST(RetrySchedule, OutOfRangeRandomSourceCannotBreakBounds) {
  RetrySchedule s({10 * kMicrosPerSecond}, 0.2, Fixed(7.0));
  EXPECT_EQ(s.DelayBeforeAttempt(2), 12 * kMicrosPerSecond);
}

}  // namespace
}  // namespace handoff
