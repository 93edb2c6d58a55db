#include "transfer/retry_schedule.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>

namespace handoff {

UniformRandom MakeUniformRandom(std::optional<uint64_t> seed) {
  struct State {
    std::mutex mu;
    std::mt19937_64 engine;
    std::uniform_real_distribution<double> dist{0.0, 1.0};
  };
  auto state = std::make_shared<State>();
  state->engine.seed(seed ? *seed
                          : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  return [state] {
    std::lock_guard<std::mutex> lock(state->mu);
    return state->dist(state->engine);
  };
}

RetrySchedule::RetrySchedule(std::vector<Micros> delays, double jitter, UniformRandom random)
    : delays_(std::move(delays)),
      jitter_(std::clamp(std::isnan(jitter) ? 0.0 : jitter, 0.0, 1.0)),
      random_(random ? std::move(random) : MakeUniformRandom()) {
  for (Micros& d : delays_) d = std::max<Micros>(d, 0);
}

std::optional<Micros> RetrySchedule::DelayBeforeAttempt(int next_attempt_number,
                                                        std::optional<Micros> retry_after) const {
  if (next_attempt_number > max_attempts()) return std::nullopt;
  if (next_attempt_number <= 1) return Micros{0};
  const double base = static_cast<double>(delays_[static_cast<size_t>(next_attempt_number - 2)]);
  // A source outside [0, 1) must not break the promised bounds.
  const double u = std::clamp(random_(), 0.0, 1.0);
  const double factor = 1.0 + jitter_ * (2.0 * u - 1.0);
  Micros delay = static_cast<Micros>(std::llround(base * factor));
  if (retry_after) {
    delay = std::max(delay, std::clamp<Micros>(*retry_after, 0, kMaxRetryAfter));
  }
  return delay;
}

}  // namespace handoff
