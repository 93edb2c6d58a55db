// The leak rules: where, right now, demand is being lost between the business's tools. Derived
// from the config (`alerts.leak_after`, each source's `expect_every`) and applied to the
// inquiries of the lookback window and what became of them. Pure: no store, no clock.
//
//   unassigned           no owner `unassigned` after it arrived (unrouted, or a route that
//                        assigns nobody)
//   overdue_task         an open (unacknowledged) task `unacknowledged_task` past its due time
//   missed_call          a missed call whose callback task is not done `missed_call` past due
//                        (acknowledging is not calling back)
//   unconfirmed_handoff  a handoff not confirmed `unconfirmed_handoff` after it was created
//   dead_handoff         a handoff that gave up (until it is replayed and confirmed)
//   silent_source        a source with no inquiry for longer than its usual gap: the tool that
//                        "worked" but stopped sending
//   probe_failed         a synthetic probe (track/probes.h) not routed and confirmed by the
//                        probe target within probes.deadline
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/records.h"

namespace handoff {

struct LeakInputs {
  // The inquiries received in [now - alerts.lookback, now), oldest first.
  std::vector<InquiryOutcome> outcomes;
  // Per source, its newest accepted inquiry as far back as the store's entry counts go (so a
  // source silent for longer than the lookback is still known); absent = none.
  std::map<std::string, Micros> last_arrival;
};

// Every leak open at `now`, with key, kind, group, reason, value and `since` set (workspace,
// opened_at and closed_at are left to the caller). Synthetic (probe) inquiries are left out.
std::vector<Leak> DetectLeaks(const Config& config, const LeakInputs& in, Micros now);

// DetectLeaks over a window that is read a page at a time (Store::ScanInquiryOutcomes): it
// keeps the leaks found and each source's arrival times, never the inquiries themselves, so a
// scan of a busy week holds one page. `config` must outlive it.
class LeakDetector {
 public:
  LeakDetector(const Config& config, Micros now) : config_(config), now_(now) {}

  // The leaks of one inquiry of the window; inquiries may come in any order.
  void Add(const InquiryOutcome& o);
  // The silent sources, given each source's newest accepted inquiry as far back as the entry
  // counts go (LeakInputs::last_arrival); then every leak found, in the order DetectLeaks gives.
  // Call once, after the last Add.
  std::vector<Leak> Finish(const std::map<std::string, Micros>& last_arrival);
  // The newest non-synthetic inquiry of `source` among those added; 0 when none.
  Micros NewestArrival(const std::string& source) const;

 private:
  const Config& config_;
  const Micros now_;
  std::vector<Leak> found_;
  std::map<std::string, std::vector<Micros>> arrivals_;  // per source (sorted by Finish)
};

// The probe_failed leak of a synthetic inquiry, when its deadline has passed without it being
// routed and every one of its handoffs confirmed in time.
std::optional<Leak> ProbeFailure(const Config& config, const InquiryOutcome& probe, Micros now);

// The silence after which a source counts as broken: `expect_every` when configured; otherwise
// three times the 90th percentile of the gaps between its arrivals (`arrivals` ascending), at
// least an hour, once it has at least kMinLearnedGaps gaps; 0 when it cannot be known.
inline constexpr int kMinLearnedGaps = 8;
Micros ExpectedGap(const SourceConfig& source, const std::vector<Micros>& arrivals);

// The alert group a leak counts in, and what that group's alert says is wrong (without the
// count): "handoff:crm" → "handoffs to crm are not confirmed".
std::string LeakGroupTitle(const std::string& group);

}  // namespace handoff
