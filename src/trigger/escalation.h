// Runs the routes' escalation chains (`escalate:` steps): while a task stays open, each step
// notifies someone and/or reassigns the task when its `after` has passed since the task was
// created. Every step is an event on the inquiry's timeline ("escalation.step"; the last one is
// followed by "escalation.ended"); acknowledging the task stops the chain, because only open
// tasks are picked up and each step re-reads the task in its own write.
#pragma once

#include "config/config.h"
#include "core/periodic_thread.h"
#include "enrich/business_time.h"
#include "store/duty_lease.h"
#include "store/store.h"

namespace handoff {

struct EscalationOptions {
  Micros poll = kMicrosPerSecond;  // the longest sleep between scans
  int batch = 100;                 // steps run per scan
};

// Thread-safe. `config`, `store` and `clock` must outlive it.
class EscalationRunner {
 public:
  EscalationRunner(const Config* config, Store* store, const Clock* clock,
                   EscalationOptions options = {});
  ~EscalationRunner();
  EscalationRunner(const EscalationRunner&) = delete;
  EscalationRunner& operator=(const EscalationRunner&) = delete;

  void Start();
  // Runs only while `duty` is held, its writes fenced on it (several nodes on one database);
  // without one it always runs. Call before Start.
  void set_duty(const DutyLease* duty) { duty_ = duty; }
  // Waits for a scan in progress; idempotent.
  void Stop();

  // Runs every step due at the clock's time, each in its own write; returns how many ran.
  // Tests drive it with a FakeClock instead of Start().
  absl::StatusOr<int> RunDue();

 private:
  // The write for the next step of the task seen as `seen` (re-read inside it). `ran` is set
  // when the step ran.
  WriteFn Step(const Task& seen, Micros now, std::shared_ptr<bool> ran) const;
  // Who "reassign: next" gives the task to after `current`: the next pool member (available
  // ones first when the route assigns only to available people).
  std::string NextInPool(const RouteConfig& route, const std::string& current, Micros at) const;
  const RouteConfig* FindRoute(const std::string& name) const;
  // One pass of the thread: the steps due now, then how long to sleep.
  Micros RunOnce();

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const DutyLease* duty_ = nullptr;
  const EscalationOptions options_;
  const BusinessTime business_time_;
  PeriodicThread thread_;  // last: stopped before the members it uses go
};

}  // namespace handoff
