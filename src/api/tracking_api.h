// The Tracking stage's read endpoints: the scorecard of a window (track/scorecard.h), its daily
// trend, and the continuity map with live figures (track/continuity_map.h). Each reads the
// window's inquiry outcomes, entry counts, leaks and alert groups from the store and hands them
// to the pure computations.
#pragma once

#include "config/config.h"
#include "core/clock.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "store/store.h"

namespace handoff {

// Read-only; thread-safe as the store is.
class TrackingApi {
 public:
  // `sources` (may be null) gives adapters' default channels to the map.
  TrackingApi(const Config* config, Store* store, const Clock* clock,
              const SourceAdapterRegistry* sources)
      : config_(config), store_(store), clock_(clock), sources_(sources) {}

  // GET /api/v1/scorecard?window=7d[&format=text]: ScorecardJson, or ScorecardText.
  HttpResponse Scorecard(const HttpRequest& request) const;
  // GET /api/v1/scorecard/trend?days=14: {"days": [{"from", "until", "overall"}]},
  // oldest first, one scorecard per day (UTC) ending now.
  HttpResponse ScorecardTrend(const HttpRequest& request) const;
  // GET /api/v1/map?window=24h: ContinuityMapJson.
  HttpResponse Map(const HttpRequest& request) const;

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const SourceAdapterRegistry* sources_;
};

}  // namespace handoff
