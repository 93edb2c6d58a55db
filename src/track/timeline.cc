#include "track/timeline.h"

#include <map>

#include "core/time_format.h"

namespace handoff {

std::vector<StageTiming> StageTimings(const Inquiry& inquiry, const std::vector<Event>& events) {
  std::map<int, Micros> last;  // stage index → latest event time
  for (const Event& e : events) {
    Micros& t = last[static_cast<int>(e.stage)];
    t = std::max(t, e.at);
  }
  std::vector<StageTiming> out;
  Micros previous = inquiry.received_at;
  for (const auto& [stage, at] : last) {
    StageTiming t;
    t.stage = static_cast<Stage>(stage);
    t.done_at = at;
    t.since_received = at - inquiry.received_at;
    t.since_previous = at - previous;
    previous = at;
    out.push_back(t);
  }
  return out;
}

nlohmann::json TimelineJson(const Inquiry& inquiry, const std::vector<Event>& events) {
  nlohmann::json ev = nlohmann::json::array();
  for (const Event& e : events) {
    nlohmann::json j = ToJson(e);
    j["since_received_ms"] = (e.at - inquiry.received_at) / 1000.0;
    ev.push_back(std::move(j));
  }
  nlohmann::json stages = nlohmann::json::object();
  for (const StageTiming& t : StageTimings(inquiry, events)) {
    stages[std::string(StageName(t.stage))] = {{"done_at", FormatRfc3339(t.done_at)},
                                               {"since_received_ms", t.since_received / 1000.0},
                                               {"stage_ms", t.since_previous / 1000.0}};
  }
  return {{"events", std::move(ev)}, {"stages", std::move(stages)}};
}

}  // namespace handoff
