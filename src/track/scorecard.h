// The scorecard: how well each path (source → route → destinations) keeps an inquiry alive over
// a window, as five checks scored 1–5 (Entry, Transfer, Context, Trigger, Visibility), a score
// and rating per path and for the business overall, and the paths to fix first, ranked by the
// value their leaks put at risk. Pure arithmetic over what the caller read: no store, no clock.
// docs/SCORECARD.md explains every figure and threshold.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "model/records.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace handoff {

// What the scorecard of one window is computed from.
struct ScoreInputs {
  // The window [from, until). `until` is also the "now" that decides whether a handoff's
  // deadline or a task's due time had come yet.
  Micros from = 0;
  Micros until = 0;
  std::vector<InquiryOutcome> outcomes;  // the inquiries received in the window
  std::vector<EntryCount> entry_counts;  // per source, over the window
  std::vector<Leak> leaks;               // leaks open now, or opened or closed in the window
  std::vector<AlertGroup> alert_groups;  // alert groups open now, or closed in the window
};

// The checks, in the order every path lists them.
inline constexpr std::array<const char*, 5> kScoreChecks = {"entry", "transfer", "context",
                                                            "trigger", "visibility"};

// One check of one path.
struct CheckScore {
  std::string check;    // one of kScoreChecks
  int score = 0;        // 1..5; 0 = no data in the window
  std::string summary;  // one line for people: "12 of 15 (80%) deliveries confirmed within 15m"
  nlohmann::json figures = nlohmann::json::object();  // the counts behind the score
};

// One path through the continuity map, or the business overall (source and route "").
struct PathScore {
  std::string source;
  std::string route;                      // "" for inquiries no route took (or none arrived)
  std::vector<std::string> destinations;  // the route's `deliver`, then any other delivered to
  int inquiries = 0;                      // non-synthetic inquiries received in the window
  std::vector<CheckScore> checks;         // one per kScoreChecks, in that order
  int score = 0;                          // the weakest scored check; 0 = no check has data
  std::string rating;                     // ScoreRating(score)
  int leaks = 0;   // leaks counted against the path (open, or opened/closed in the window)
  int leaked = 0;  // the path's inquiries in the window with at least one leak
  double value_at_risk = 0;  // the sum of `value` over those leaked inquiries
};

// The scorecard of one window.
struct Scorecard {
  Micros from = 0;
  Micros until = 0;
  PathScore overall;
  std::vector<PathScore> paths;   // sorted by source, then route
  std::vector<size_t> fix_first;  // indexes into `paths`: the paths with leaks, worst first
};

// The share thresholds, in percent: a share of at least kScoreThresholdsPercent[i] scores 5 - i;
// below the last one scores 1.
inline constexpr std::array<int64_t, 4> kScoreThresholdsPercent = {98, 93, 80, 50};

// The score of `ok` out of `total` by the thresholds (exact, in integers); 0 when total is 0.
int ScoreShare(int64_t ok, int64_t total);

// The rubric's words for a path score: 0 "no data", 1–2 "disconnected", 3 "partial", 4 "strong",
// 5 "reducing leakage".
std::string ScoreRating(int score);

// Scores every path seen in the window (in the outcomes, the leaks or the entry counts) and the
// business overall. Synthetic inquiries, and leaks of synthetic inquiries, count nowhere. A path
// with no inquiries scores only the checks it has data for.
Scorecard ComputeScorecard(const Config& config, const ScoreInputs& in);

// The scorecard of one window from its inquiries added one at a time, as Store::ScanInquiryOutcomes
// reads them a page at a time: it keeps counts per path, two timings per inquiry at most, and the
// window's probes, never the inquiries, so a busy window costs what a page of it does.
// ComputeScorecard(config, in) equals a builder given in's other inputs, then in.outcomes in
// order. `config` must outlive it.
class ScorecardBuilder {
 public:
  ScorecardBuilder(const Config& config, Micros from, Micros until,
                   std::vector<EntryCount> entry_counts, std::vector<Leak> leaks,
                   std::vector<AlertGroup> alert_groups);
  ~ScorecardBuilder();
  ScorecardBuilder(ScorecardBuilder&&) noexcept;
  ScorecardBuilder& operator=(ScorecardBuilder&&) = delete;

  // One inquiry received in [from, until).
  void Add(const InquiryOutcome& outcome);
  // The scorecard of everything added. Call once, after the last Add.
  Scorecard Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The scorecard as GET /api/v1/scorecard and `handoff score --json` return it.
nlohmann::json ScorecardJson(const Scorecard& card);

// The scorecard for `handoff score`: a table of the paths' check scores, then "Fix this first".
std::string ScorecardText(const Scorecard& card);

}  // namespace handoff
