// Runs the leak rules (track/leak_rules.h) every `alerts.scan_every` and keeps their findings:
// a newly found leak is stored and put on its inquiry's timeline ("leak.opened"), a leak whose
// condition no longer holds is closed ("leak.closed"). Leaks are counted in alert groups (one per
// broken destination, late owner, silent source…): when a group opens, each `alerts.via`
// channel gets one alert with the count, a reminder every `alerts.repeat` while it stays open,
// and one recovery notice when it heals. Alerts are handoffs of purpose "alert", delivered and
// tracked by the transfer stage like any other (a failing alert channel shows in /readyz).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/periodic_thread.h"
#include "store/duty_lease.h"
#include "store/store.h"

namespace handoff {

// How far back the entry counts are read for each source's last arrival (silent sources):
// retention keeps entry counts at least this long.
inline constexpr Micros kLeakArrivalHorizon = 30 * kMicrosPerDay;

// What one scan changed.
struct LeakScan {
  int open = 0;    // leaks open after the scan
  int opened = 0;  // found for the first time
  int closed = 0;  // no longer holding
  int alerts = 0;  // alert handoffs queued (one per channel per group message)
  int writes = 0;  // writes committed: the chunks of opened and closed leaks, then the groups
};

// How many leaks one write opens or closes at most (LeakMonitor::set_max_changes_per_write).
inline constexpr int kLeakChangesPerWrite = 64;

// Thread-safe. `config`, `store` and `clock` must outlive it.
class LeakMonitor {
 public:
  LeakMonitor(const Config* config, Store* store, const Clock* clock);
  ~LeakMonitor();
  LeakMonitor(const LeakMonitor&) = delete;
  LeakMonitor& operator=(const LeakMonitor&) = delete;

  void Start();
  // Runs only while `duty` is held, its writes fenced on it (several nodes on one database);
  // without one it always runs. Call before Start.
  void set_duty(const DutyLease* duty) { duty_ = duty; }
  // Waits for a scan in progress; idempotent.
  void Stop();

  // Bounds each write of a scan; tests make it small to see the chunks. Call before Start.
  void set_max_changes_per_write(int n) { max_changes_per_write_ = n > 0 ? n : 1; }
  // How many inquiries a scan reads and holds at a time (kOutcomesPerPage); tests make it small
  // to see a window span pages. Call before Start.
  void set_outcomes_per_page(int n) { outcomes_per_page_ = n > 0 ? n : 1; }

  // One scan at the clock's time. The rules run over the window a page at a time, and the open
  // leaks are read; the leaks to open and to close are then written in chunks of at most
  // max_changes_per_write, and the alert groups last, in one write. Tests drive it with a
  // FakeClock.
  absl::StatusOr<LeakScan> Scan();

 private:
  // One leak's change inside a write: whether it changed anything.
  using ChangeFn = std::function<absl::StatusOr<bool>(WriteTx&, const Leak&)>;
  // Applies `change` to `leaks` in writes of at most max_changes_per_write_ each (counted in
  // scan.writes); returns the leaks it changed, in order.
  absl::StatusOr<std::vector<const Leak*>> WriteInChunks(const std::vector<const Leak*>& leaks,
                                                         LeakScan& scan,
                                                         const ChangeFn& change) const;
  // Each source's newest accepted inquiry, from the entry counts of the last 30 days.
  absl::StatusOr<std::map<std::string, Micros>> LastArrivals(Micros now) const;

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const DutyLease* duty_ = nullptr;
  size_t max_changes_per_write_ = kLeakChangesPerWrite;
  int outcomes_per_page_ = kOutcomesPerPage;
  PeriodicThread thread_;  // last: stopped before the members it uses go
};

// The message an alert group sends: "opened", "reminder" or "recovered".
std::string AlertText(const Config& config, const AlertGroup& group, const std::string& what,
                      const std::string& oldest_reason, Micros now);

}  // namespace handoff
