#include "transfer/destination_gate.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

constexpr Micros kT0 = 1'000'000 * kMicrosPerSecond;

TEST(DestinationGateTest, CapsConcurrentRequests) {
  DestinationGate gate({.concurrency = 2});
  EXPECT_TRUE(gate.MayStart(kT0));
  gate.OnStart(kT0);
  gate.OnStart(kT0);
  EXPECT_FALSE(gate.MayStart(kT0));
  EXPECT_EQ(gate.in_flight(), 2);
  gate.OnFinish(kT0, /*failure=*/false);
  EXPECT_TRUE(gate.MayStart(kT0));
}

TEST(DestinationGateTest, HeadroomIsWhatMayStartOneAfterAnother) {
  DestinationGate gate({.concurrency = 3});
  EXPECT_EQ(gate.Headroom(kT0), 3);
  gate.OnStart(kT0);
  EXPECT_EQ(gate.Headroom(kT0), 2);
  gate.OnStart(kT0);
  gate.OnStart(kT0);
  EXPECT_EQ(gate.Headroom(kT0), 0);

  // The token bucket caps it too: a burst of 2 leaves room for 2 of 10 slots, then none until a
  // token refills.
  DestinationGate rated({.concurrency = 10, .rate_per_second = 1, .burst = 2});
  EXPECT_EQ(rated.Headroom(kT0), 2);
  rated.OnStart(kT0);
  rated.OnStart(kT0);
  EXPECT_EQ(rated.Headroom(kT0), 0);
  EXPECT_EQ(rated.Headroom(kT0 + kMicrosPerSecond), 1);

  // A paused destination has none.
  DestinationGate paused({.concurrency = 4});
  paused.OnStart(kT0);
  paused.OnFinish(kT0, /*failure=*/true, /*pause_until=*/kT0 + kMicrosPerSecond);
  EXPECT_EQ(paused.Headroom(kT0), 0);
  EXPECT_EQ(paused.Headroom(kT0 + kMicrosPerSecond), 4);
}

TEST(DestinationGateTest, RateLimitsStartsWithATokenBucket) {
  DestinationGate gate({.concurrency = 100, .rate_per_second = 2, .burst = 2});
  int started = 0;
  for (int i = 0; i < 10 && gate.MayStart(kT0); ++i, ++started) gate.OnStart(kT0);
  EXPECT_EQ(started, 2) << "the burst";
  EXPECT_FALSE(gate.MayStart(kT0));
  EXPECT_EQ(gate.NextChance(kT0), kT0 + kMicrosPerSecond / 2 + 1);
  EXPECT_FALSE(gate.MayStart(kT0 + kMicrosPerSecond / 4));
  EXPECT_TRUE(gate.MayStart(kT0 + kMicrosPerSecond / 2 + 1));
  // Over ten seconds, two per second (plus the initial burst) and no more.
  started = 0;
  for (Micros t = kT0 + kMicrosPerSecond; t <= kT0 + 11 * kMicrosPerSecond;
       t += kMicrosPerSecond / 100) {
    while (gate.MayStart(t)) {
      gate.OnStart(t);
      ++started;
    }
  }
  EXPECT_GE(started, 20);
  EXPECT_LE(started, 22);
}

TEST(DestinationGateTest, RetryAfterPausesEveryStart) {
  DestinationGate gate({.concurrency = 4});
  gate.OnStart(kT0);
  gate.OnFinish(kT0, /*failure=*/true, /*pause_until=*/kT0 + 30 * kMicrosPerSecond);
  EXPECT_FALSE(gate.MayStart(kT0 + 29 * kMicrosPerSecond));
  EXPECT_EQ(gate.NextChance(kT0), kT0 + 30 * kMicrosPerSecond);
  EXPECT_TRUE(gate.MayStart(kT0 + 30 * kMicrosPerSecond));
}

GateOptions Breaker() {
  return {.concurrency = 100,
          .failure_ratio = 0.5,
          .min_requests = 4,
          .window = 10,
          .open_for = 30 * kMicrosPerSecond,
          .max_open_for = 100 * kMicrosPerSecond,
          .half_open_probes = 1};
}

void Finish(DestinationGate& gate, Micros now, bool failure) {
  ASSERT_TRUE(gate.MayStart(now));
  gate.OnStart(now);
  gate.OnFinish(now, failure);
}

TEST(DestinationGateTest, TheBreakerWaitsForEnoughOutcomesBeforeOpening) {
  DestinationGate gate(Breaker());
  Finish(gate, kT0, true);
  Finish(gate, kT0, true);
  Finish(gate, kT0, true);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kClosed) << "3 < min_requests";
  Finish(gate, kT0, true);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kOpen);
  EXPECT_EQ(gate.open_until(), kT0 + 30 * kMicrosPerSecond);
  EXPECT_FALSE(gate.MayStart(kT0 + 29 * kMicrosPerSecond));
  EXPECT_EQ(gate.times_opened(), 1);
}

TEST(DestinationGateTest, TheBreakerStaysClosedBelowTheFailureRatio) {
  DestinationGate gate(Breaker());
  for (int i = 0; i < 30; ++i) Finish(gate, kT0, i % 3 == 2);  // every third fails
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kClosed);
}

TEST(DestinationGateTest, HalfOpenLetsOneProbeThroughAndClosesOnSuccess) {
  DestinationGate gate(Breaker());
  for (int i = 0; i < 4; ++i) Finish(gate, kT0, true);
  Micros later = kT0 + 30 * kMicrosPerSecond;
  ASSERT_TRUE(gate.MayStart(later));
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kHalfOpen);
  EXPECT_EQ(gate.Headroom(later), 1) << "one probe, though 100 are allowed when closed";
  gate.OnStart(later);
  EXPECT_FALSE(gate.MayStart(later)) << "only one probe at a time";
  EXPECT_EQ(gate.Headroom(later), 0);
  gate.OnFinish(later, /*failure=*/false);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kClosed);
  // The window starts afresh: old failures do not reopen it.
  Finish(gate, later, true);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kClosed);
}

TEST(DestinationGateTest, AFailedProbeReopensForLongerUpToTheCap) {
  DestinationGate gate(Breaker());
  for (int i = 0; i < 4; ++i) Finish(gate, kT0, true);
  Micros t = kT0 + 30 * kMicrosPerSecond;
  Finish(gate, t, true);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kOpen);
  EXPECT_EQ(gate.open_until(), t + 60 * kMicrosPerSecond);
  t += 60 * kMicrosPerSecond;
  Finish(gate, t, true);
  EXPECT_EQ(gate.open_until(), t + 100 * kMicrosPerSecond) << "capped at max_open_for";
  EXPECT_EQ(gate.times_opened(), 3);
}

TEST(DestinationGateTest, PermanentRejectionsDoNotTripTheBreaker) {
  DestinationGate gate(Breaker());
  // A 400 for one bad record is reported as failure=false by the dispatcher.
  for (int i = 0; i < 20; ++i) Finish(gate, kT0, false);
  EXPECT_EQ(gate.breaker(), DestinationGate::BreakerState::kClosed);
}

}  // namespace
}  // namespace handoff
