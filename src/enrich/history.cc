#include "enrich/history.h"

#include <algorithm>

#include "core/time_format.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// What happened to an earlier inquiry, in words: its task's state when it had a task, else how
// far it got.
std::string Outcome(const PastInquiry& p) {
  if (p.channel == Channel::kBooking) return "booked";
  if (p.task_state == "done") return "handled";
  if (p.task_state == "acknowledged") return "acknowledged";
  if (p.task_state == "open") return "still open";
  if (p.status == "unrouted") return "unrouted";
  return "received";
}

}  // namespace

nlohmann::json SummarizeHistory(const std::vector<PastInquiry>& past, const Config& config,
                                const BusinessCalendar& calendar) {
  if (past.empty()) return {{"returning", false}};
  const PastInquiry& last = past.front();
  nlohmann::json owners = nlohmann::json::array();
  for (const PastInquiry& p : past) {
    if (!p.owner.empty() && std::find(owners.begin(), owners.end(), p.owner) == owners.end()) {
      owners.push_back(p.owner);
    }
  }
  const std::string outcome = Outcome(last);
  // The local date only: "2026-10-02 14:05 PDT" → "2026-10-02".
  const std::string local = calendar.FormatLocal(last.received_at);
  const std::string date = local.substr(0, local.find(' '));
  std::string text = fmt::format("returning: {} earlier {}, last on {}, {}", past.size(),
                                 past.size() == 1 ? "inquiry" : "inquiries", date, outcome);
  nlohmann::json out = {{"returning", true},
                        {"earlier", past.size()},
                        {"last_inquiry_id", last.id},
                        {"last_at", FormatRfc3339(last.received_at)},
                        {"last_channel", ChannelName(last.channel)},
                        {"last_service", last.service},
                        {"last_outcome", outcome},
                        {"owners", owners}};
  if (!last.owner.empty()) {
    out["last_owner"] = last.owner;
    const TeamMember* m = config.FindMember(last.owner);
    text += fmt::format(" with {}", m && !m->name.empty() ? m->name : last.owner);
  }
  out["text"] = text;
  return out;
}

}  // namespace handoff
