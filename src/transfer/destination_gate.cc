#include "transfer/destination_gate.h"

#include <algorithm>
#include <cmath>

namespace handoff {

DestinationGate::DestinationGate(GateOptions options) : options_(options) {
  options_.concurrency = std::max(1, options_.concurrency);
  options_.window = std::max(1, options_.window);
  options_.min_requests = std::clamp(options_.min_requests, 1, options_.window);
  options_.half_open_probes = std::max(1, options_.half_open_probes);
  if (options_.rate_per_second > 0 && options_.burst <= 0) {
    options_.burst = std::max(1.0, options_.rate_per_second);
  }
  tokens_ = options_.burst;
  current_open_for_ = options_.open_for;
}

void DestinationGate::Refill(Micros now) {
  if (options_.rate_per_second <= 0) return;
  if (refilled_at_ == 0 || now < refilled_at_) {
    refilled_at_ = now;
    return;
  }
  double added =
      static_cast<double>(now - refilled_at_) / kMicrosPerSecond * options_.rate_per_second;
  tokens_ = std::min(options_.burst, tokens_ + added);
  refilled_at_ = now;
}

bool DestinationGate::MayStart(Micros now) {
  if (now < paused_until_) return false;
  if (in_flight_ >= options_.concurrency) return false;
  if (state_ == BreakerState::kOpen) {
    if (now < open_until_) return false;
    state_ = BreakerState::kHalfOpen;
    probes_in_flight_ = 0;
  }
  if (state_ == BreakerState::kHalfOpen && probes_in_flight_ >= options_.half_open_probes) {
    return false;
  }
  Refill(now);
  return options_.rate_per_second <= 0 || tokens_ >= 1.0;
}

int DestinationGate::Headroom(Micros now) {
  if (!MayStart(now)) return 0;
  int room = options_.concurrency - in_flight_;
  if (state_ == BreakerState::kHalfOpen) {
    room = std::min(room, options_.half_open_probes - probes_in_flight_);
  }
  if (options_.rate_per_second > 0) room = std::min<double>(room, std::floor(tokens_));
  return std::max(room, 0);
}

void DestinationGate::OnStart(Micros now) {
  Refill(now);
  ++in_flight_;
  if (options_.rate_per_second > 0) tokens_ = std::max(0.0, tokens_ - 1.0);
  if (state_ == BreakerState::kHalfOpen) ++probes_in_flight_;
}

void DestinationGate::RecordOutcome(bool failure) {
  outcomes_.push_back(failure);
  if (failure) ++failures_in_window_;
  while (static_cast<int>(outcomes_.size()) > options_.window) {
    if (outcomes_.front()) --failures_in_window_;
    outcomes_.pop_front();
  }
}

double DestinationGate::FailureShare() const {
  return outcomes_.empty() ? 0.0 : static_cast<double>(failures_in_window_) / outcomes_.size();
}

void DestinationGate::Open(Micros now) {
  state_ = BreakerState::kOpen;
  open_until_ = now + current_open_for_;
  probes_in_flight_ = 0;
  ++times_opened_;
}

void DestinationGate::OnFinish(Micros now, bool failure, Micros pause_until) {
  in_flight_ = std::max(0, in_flight_ - 1);
  paused_until_ = std::max(paused_until_, pause_until);
  switch (state_) {
    case BreakerState::kHalfOpen:
      probes_in_flight_ = std::max(0, probes_in_flight_ - 1);
      if (failure) {
        // Still down: stay away longer each time, up to the cap.
        current_open_for_ = std::min(options_.max_open_for, current_open_for_ * 2);
        Open(now);
      } else {
        state_ = BreakerState::kClosed;
        current_open_for_ = options_.open_for;
        outcomes_.clear();
        failures_in_window_ = 0;
      }
      return;
    case BreakerState::kOpen:
      // A request started before the breaker opened: its outcome is already accounted for.
      return;
    case BreakerState::kClosed:
      RecordOutcome(failure);
      if (static_cast<int>(outcomes_.size()) >= options_.min_requests &&
          FailureShare() >= options_.failure_ratio) {
        Open(now);
      }
      return;
  }
}

Micros DestinationGate::NextChance(Micros now) const {
  Micros at = std::max(now, paused_until_);
  if (state_ == BreakerState::kOpen) at = std::max(at, open_until_);
  if (in_flight_ >= options_.concurrency ||
      (state_ == BreakerState::kHalfOpen && probes_in_flight_ >= options_.half_open_probes)) {
    return std::max(at, now + kMicrosPerSecond);
  }
  if (options_.rate_per_second > 0 && tokens_ < 1.0) {
    Micros wait =
        static_cast<Micros>((1.0 - tokens_) / options_.rate_per_second * kMicrosPerSecond) + 1;
    at = std::max(at, refilled_at_ + wait);
  }
  return at;
}

std::string_view DestinationGate::BreakerName() const {
  switch (state_) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

}  // namespace handoff
