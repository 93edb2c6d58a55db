// The Tracking stage's view of one inquiry: its journal as a timeline, with when each stage
// finished and how long each took, derived only from events.
#pragma once

#include <vector>

#include "model/records.h"
#include "nlohmann/json.hpp"

namespace handoff {

// Per-stage completion: the time of the stage's last event so far, how long after receipt,
// and how long after the previous stage. Stages with no events are omitted.
struct StageTiming {
  Stage stage;
  Micros done_at = 0;
  Micros since_received = 0;
  Micros since_previous = 0;
};

std::vector<StageTiming> StageTimings(const Inquiry& inquiry, const std::vector<Event>& events);

// The API's "timeline" object: {"events": [...], "stages": {"enrich": {...}, ...}}.
nlohmann::json TimelineJson(const Inquiry& inquiry, const std::vector<Event>& events);

}  // namespace handoff
