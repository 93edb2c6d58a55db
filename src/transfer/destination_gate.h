// Decides, per destination, whether the dispatcher may start another delivery now: a cap on
// concurrent requests, a token-bucket rate limit, a pause the destination asked for
// (Retry-After), and a circuit breaker that stops hammering a destination that keeps failing.
// The dispatcher keeps one gate per destination, so one failing destination never holds back
// the others. Pure logic on the caller's clock: no threads, no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace handoff {

struct GateOptions {
  int concurrency = 8;                      // requests in flight at once; >= 1
  double rate_per_second = 0;               // sustained starts per second; 0 = unlimited
  double burst = 0;                         // bucket size; 0 = max(1, rate_per_second)
  double failure_ratio = 0.5;               // the breaker opens at this share of failures…
  int min_requests = 10;                    // …once the window holds at least this many outcomes
  int window = 20;                          // outcomes remembered
  Micros open_for = 30 * kMicrosPerSecond;  // first open period; doubles while probes fail
  Micros max_open_for = 10 * kMicrosPerMinute;
  int half_open_probes = 1;  // requests let through to test a half-open destination
};

// Not thread-safe: owned by the dispatcher's thread.
class DestinationGate {
 public:
  enum class BreakerState { kClosed, kOpen, kHalfOpen };

  explicit DestinationGate(GateOptions options);

  // True when a delivery may start now; the caller then calls OnStart. When false,
  // `NextChance(now)` says when asking again can make sense.
  bool MayStart(Micros now);
  // How many deliveries may start now, one after another (0 when MayStart is false): the
  // dispatcher claims no more than this, so it never leases handoffs only to give them back.
  int Headroom(Micros now);
  void OnStart(Micros now);
  // An attempt ended. `failure` is a retryable outcome (5xx, timeout, 429…); permanent
  // rejections of one request (a 400 for bad data) are not a sign of an unhealthy
  // destination and count as successes here. `pause_until` (0 = none) holds every start back
  // until then (the destination's Retry-After).
  void OnFinish(Micros now, bool failure, Micros pause_until = 0);

  // The earliest time MayStart could turn true (now when it already is). Concurrency frees
  // up only on OnFinish, so a full gate answers `now + 1s` as a re-check hint.
  Micros NextChance(Micros now) const;

  BreakerState breaker() const { return state_; }
  std::string_view BreakerName() const;
  int in_flight() const { return in_flight_; }
  Micros open_until() const { return open_until_; }
  int64_t times_opened() const { return times_opened_; }

 private:
  void Refill(Micros now);
  void Open(Micros now);
  void RecordOutcome(bool failure);
  double FailureShare() const;

  GateOptions options_;
  int in_flight_ = 0;
  // Token bucket.
  double tokens_ = 0;
  Micros refilled_at_ = 0;
  Micros paused_until_ = 0;
  // Breaker.
  BreakerState state_ = BreakerState::kClosed;
  std::deque<bool> outcomes_;  // true = failure, newest at the back
  int failures_in_window_ = 0;
  Micros open_until_ = 0;
  Micros current_open_for_ = 0;
  int probes_in_flight_ = 0;
  int64_t times_opened_ = 0;
};

}  // namespace handoff
