// When a failed handoff is tried again: a list of base delays (the config's `retry:`) with
// random jitter, so that a destination that comes back up is not hit by every queued retry at
// the same instant.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "core/clock.h"

namespace handoff {

// Returns a uniform random number in [0, 1). Must be safe to call from the threads that call
// DelayBeforeAttempt.
using UniformRandom = std::function<double()>;

// A thread-safe uniform source backed by a seeded Mersenne Twister (seeded from the OS when
// `seed` is nullopt).
UniformRandom MakeUniformRandom(std::optional<uint64_t> seed = std::nullopt);

// Immutable after construction; thread-safe when its random source is.
class RetrySchedule {
 public:
  // The most a destination's Retry-After can push one retry out: a hostile or broken
  // endpoint must not park a handoff for months.
  static constexpr Micros kMaxRetryAfter = 24 * kMicrosPerHour;

  // `delays[i]` is the base delay before attempt i + 2 (attempt 1 is immediate), so the
  // schedule allows delays.size() + 1 attempts. Each delay is scaled by a factor drawn
  // uniformly from [1 - jitter, 1 + jitter]; jitter is clamped to [0, 1].
  RetrySchedule(std::vector<Micros> delays, double jitter = 0.2, UniformRandom random = nullptr);

  int max_attempts() const { return static_cast<int>(delays_.size()) + 1; }
  double jitter() const { return jitter_; }

  // The delay to wait before attempt `next_attempt_number` (1-based): 0 for the first,
  // nullopt when that attempt is beyond the schedule (the handoff is dead). A destination's
  // `retry_after`, capped at kMaxRetryAfter, replaces the jittered delay when it is larger.
  std::optional<Micros> DelayBeforeAttempt(int next_attempt_number,
                                           std::optional<Micros> retry_after = std::nullopt) const;

 private:
  std::vector<Micros> delays_;
  double jitter_;
  UniformRandom random_;
};

}  // namespace handoff
