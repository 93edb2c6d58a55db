#include "store/duty_lease.h"

#include <utility>

#include "spdlog/spdlog.h"

namespace handoff {

DutyLease::DutyLease(Store* store, const Clock* clock, DutyLeaseOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      thread_("duty-lease", [this] { return Renew(); }) {}

DutyLease::~DutyLease() { Stop(); }

void DutyLease::Start() {
  // The first answer is known before the duties' threads start.
  Renew();
  thread_.Start();
}

void DutyLease::Stop() {
  thread_.Stop();
  if (held_until_.exchange(0) > 0) store_->ReleaseDuty(options_.duty);
}

bool DutyLease::held() const { return clock_->Now() < held_until_.load(); }

Micros DutyLease::Renew() {
  const Micros now = clock_->Now();
  const bool was_held = held();
  absl::StatusOr<bool> holds = store_->HoldDuty(options_.duty, now, options_.ttl);
  if (!holds.ok()) {
    // Unknown: keep what we had until it runs out; the fence guards the writes meanwhile.
    spdlog::warn("duty {}: could not renew: {}", options_.duty,
                 std::string(holds.status().message()));
    return options_.renew_every;
  }
  held_until_.store(*holds ? now + options_.ttl : 0);
  if (*holds != was_held && store_->shared()) {
    if (*holds) {
      spdlog::info("duty {}: this node now runs the cluster-wide duties", options_.duty);
    } else {
      spdlog::info("duty {}: another node runs the cluster-wide duties", options_.duty);
    }
  }
  return options_.renew_every;
}

WriteFn DutyLease::Fence(WriteFn fn) const {
  return [duty = options_.duty, fn = std::move(fn)](WriteTx& tx) -> absl::Status {
    absl::Status fenced = tx.FenceDuty(duty);
    if (!fenced.ok()) return fenced;
    return fn(tx);
  };
}

WriteFn FencedByDuty(const DutyLease* lease, WriteFn fn) {
  return lease == nullptr ? fn : lease->Fence(std::move(fn));
}

}  // namespace handoff
