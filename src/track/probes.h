// Synthetic probes: every `probes.every`, one canary inquiry per probed source, marked synthetic
// (`fields.synthetic: true`), goes through Enrichment and Trigger like a real one — the same
// route, an owner chosen the same way — but its deliveries go only to `probes.target` (nobody is
// notified, no CRM gets a record, its task is closed at once). The leak rules report a probe
// that is not routed and confirmed within `probes.deadline` (probe_failed) and the alert
// channels hear of it; the scorecard's Visibility check counts the probes that passed.
// Synthetic inquiries are left out of every business figure.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/periodic_thread.h"
#include "entry/source_adapter.h"
#include "store/duty_lease.h"
#include "store/store.h"

namespace handoff {

// Thread-safe. Everything passed must outlive it.
class ProbeRunner {
 public:
  ProbeRunner(const Config* config, Store* store, const Clock* clock,
              const SourceAdapterRegistry* sources);
  ~ProbeRunner();
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  // Does nothing when probes are off (probes.every is 0).
  void Start();
  // Runs only while `duty` is held, its writes fenced on it (several nodes on one database);
  // without one it always runs. Call before Start.
  void set_duty(const DutyLease* duty) { duty_ = duty; }
  void Stop();

  // Sends the probes due at the clock's time (each probed source at start, then every
  // probes.every); returns the ids of the probe inquiries stored. Tests drive it directly.
  absl::StatusOr<std::vector<std::string>> SendDue();

  // The synthetic inquiry probing `source` at `now`.
  Inquiry MakeProbe(const SourceConfig& source, Micros now) const;

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const DutyLease* duty_ = nullptr;
  const SourceAdapterRegistry* sources_;
  std::mutex mu_;
  std::map<std::string, Micros> last_sent_;  // per source
  PeriodicThread thread_;                    // last: stopped before the members it uses go
};

}  // namespace handoff
