// Which node runs the cluster-wide duties — leak scans, escalation timers, probes: the one that
// holds the store's "leader" duty (Store::HoldDuty). Every node runs a DutyLease; the holder
// renews it every `renew_every`, and when the holder dies or freezes its lease runs out and
// another node takes the duties over within `ttl`. With the single-process SQLite store this
// node always holds it. The duties' writes are fenced (Fence): a node that lost the lease
// while paused cannot write as the leader.
#pragma once

#include <atomic>
#include <string>

#include "core/clock.h"
#include "core/periodic_thread.h"
#include "store/store.h"

namespace handoff {

struct DutyLeaseOptions {
  std::string duty = "leader";
  Micros ttl = 10 * kMicrosPerSecond;
  Micros renew_every = 2 * kMicrosPerSecond;
};

// Thread-safe. `store` and `clock` must outlive it.
class DutyLease {
 public:
  DutyLease(Store* store, const Clock* clock, DutyLeaseOptions options = {});
  ~DutyLease();
  DutyLease(const DutyLease&) = delete;
  DutyLease& operator=(const DutyLease&) = delete;

  // Tries to take the duty at once, then keeps renewing (or trying) on its own thread.
  void Start();
  // Stops renewing and gives the duty up, so another node takes over without waiting.
  void Stop();

  // True while this node holds the duty: its last renewal succeeded and has not run out.
  bool held() const;
  const std::string& duty() const { return options_.duty; }

  // `fn`, preceded by the duty fence: the write fails with Aborted, writing nothing, unless
  // this node still holds the duty when it runs.
  WriteFn Fence(WriteFn fn) const;

  // Takes or renews the duty once; returns how long to wait before the next try.
  Micros Renew();

 private:
  Store* store_;
  const Clock* clock_;
  const DutyLeaseOptions options_;
  std::atomic<Micros> held_until_{0};
  PeriodicThread thread_;  // last: stopped before the members it uses go
};

// `fn` fenced by `lease`, or `fn` itself when there is no lease (tests driving a duty alone).
WriteFn FencedByDuty(const DutyLease* lease, WriteFn fn);

}  // namespace handoff
