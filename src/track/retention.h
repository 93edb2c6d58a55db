// Retention: every `retention.every`, the inquiries received more than `retention.inquiries`
// ago are deleted with everything recorded about them (timeline, tasks, handoffs, queued work,
// dedupe keys, inbox items, leaks; their contacts stay), as are the entry counts of those days
// (kept at least kLeakArrivalHorizon: the leak monitor reads them). A cluster-wide duty: with
// several nodes only the holder of the leader lease sweeps, each write fenced on it. Deletes go in
// batches, one write each, so ingest keeps its turn at the writer during a large first sweep.
#pragma once

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/periodic_thread.h"
#include "store/duty_lease.h"
#include "store/store.h"

namespace handoff {

// What one sweep deleted.
struct RetentionSweep {
  Micros cutoff = 0;  // inquiries received before this went
  int inquiries = 0;
};

// Thread-safe. `config`, `store` and `clock` must outlive it.
class RetentionRunner {
 public:
  static constexpr int kDefaultBatch = 200;

  RetentionRunner(const Config* config, Store* store, const Clock* clock,
                  int batch = kDefaultBatch);
  ~RetentionRunner();
  RetentionRunner(const RetentionRunner&) = delete;
  RetentionRunner& operator=(const RetentionRunner&) = delete;

  // Does nothing when the config keeps everything (no retention section).
  void Start();
  // Sweeps only while `duty` is held, its writes fenced on it; without one it always sweeps.
  // Call before Start.
  void set_duty(const DutyLease* duty) { duty_ = duty; }
  void Stop();

  // One sweep at the clock's time. Tests drive it directly.
  absl::StatusOr<RetentionSweep> Sweep();

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const int batch_;
  const DutyLease* duty_ = nullptr;
  PeriodicThread thread_;  // last: stopped before the members it uses go
};

}  // namespace handoff
