// The Tracking stage's read endpoints: the scorecard of a window (track/scorecard.h), its daily
// trend, and the continuity map with live figures (track/continuity_map.h). Each reads the
// window's inquiry outcomes, entry counts, leaks and alert groups from the store and hands them
// to the pure computations, the outcomes a page at a time: a busy window costs a page of memory.
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

  // How many inquiries the scorecards and the map read and hold at a time (kOutcomesPerPage); tests
  // make it small to see a window span pages. Call before serving.
  void set_outcomes_per_page(int n) { outcomes_per_page_ = n > 0 ? n : 1; }

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const SourceAdapterRegistry* sources_;
  int outcomes_per_page_ = kOutcomesPerPage;
};

}  // namespace handoff
