#include "track/leak_monitor.h"

#include <algorithm>
#include <memory>
#include <set>

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "track/leak_rules.h"

namespace handoff {
namespace {

// The part of a leak key after "<kind>:": the task, handoff, inquiry or source it is about.
std::string Subject(const Leak& l) { return l.key.substr(l.kind.size() + 1); }

// A leak found from a read made before the write may have healed since (the task acknowledged,
// the handoff confirmed in between): task and handoff leaks are checked again inside the write.
absl::StatusOr<bool> StillHolds(WriteTx& tx, const Leak& l) {
  if (l.kind == "overdue_task" || l.kind == "missed_call") {
    auto task = tx.GetTask(l.workspace, Subject(l));
    if (absl::IsNotFound(task.status())) return false;
    if (!task.ok()) return task.status();
    return l.kind == "overdue_task" ? task->state == "open" : task->state != "done";
  }
  if (l.kind == "unconfirmed_handoff" || l.kind == "dead_handoff") {
    ASSIGN_OR_RETURN(std::vector<Handoff> all, tx.ListHandoffs(l.workspace, l.inquiry_id));
    for (const Handoff& h : all) {
      if (h.id != Subject(l)) continue;
      return l.kind == "dead_handoff" ? h.state == "dead"
                                      : h.state != "confirmed" && h.state != "dead";
    }
    return false;
  }
  return true;
}

Event LeakEvent(const Leak& l, Micros at, const char* kind) {
  Event e;
  e.workspace = l.workspace;
  e.inquiry_id = l.inquiry_id;
  e.at = at;
  e.stage = Stage::kTrack;
  e.kind = kind;
  e.detail = {{"key", l.key}, {"leak", l.kind}, {"group", l.group}, {"reason", l.reason}};
  if (l.closed_at != 0) e.detail["open_for_ms"] = (l.closed_at - l.opened_at) / 1000;
  return e;
}

}  // namespace

std::string AlertText(const Config& config, const AlertGroup& group, const std::string& what,
                      const std::string& oldest_reason, Micros now) {
  const std::string business =
      config.business.name.empty() ? config.workspace : config.business.name;
  if (what == "recovered") {
    return fmt::format("Recovered ({}): no longer {}. Open for {}, {} leak{} in all.", business,
                       group.title, FormatDuration(std::max<Micros>(now - group.opened_at, 1)),
                       group.total, group.total == 1 ? "" : "s");
  }
  std::string text =
      fmt::format("{} ({}): {}: {} open", what == "reminder" ? "Still leaking" : "Leak alert",
                  business, group.title, group.open);
  if (what == "reminder") {
    text += fmt::format(", {} since {}", group.total, FormatRfc3339(group.opened_at));
  }
  text += ".";
  // The first line is the headline (a chat header, an email subject); the details follow.
  if (!oldest_reason.empty()) text += "\nOldest: " + oldest_reason + ".";
  return text;
}

LeakMonitor::LeakMonitor(const Config* config, Store* store, const Clock* clock)
    : config_(config), store_(store), clock_(clock), thread_([this] {
        if (duty_ != nullptr && !duty_->held()) return config_->alerts.scan_every;
        absl::StatusOr<LeakScan> scan = Scan();
        if (!scan.ok()) {
          spdlog::warn("leak scan failed: {}", std::string(scan.status().message()));
        } else if (scan->opened > 0 || scan->closed > 0) {
          spdlog::info("leaks: {} open ({} new, {} closed), {} alert(s) queued", scan->open,
                       scan->opened, scan->closed, scan->alerts);
        }
        return config_->alerts.scan_every;
      }) {}

LeakMonitor::~LeakMonitor() { Stop(); }

void LeakMonitor::Start() { thread_.Start(); }

void LeakMonitor::Stop() { thread_.Stop(); }

absl::StatusOr<std::map<std::string, Micros>> LeakMonitor::LastArrivals(Micros now) const {
  ASSIGN_OR_RETURN(std::vector<EntryCount> counts,
                   store_->ListEntryCounts(config_->workspace, now - kLeakArrivalHorizon));
  std::map<std::string, Micros> last;
  for (const EntryCount& c : counts) {
    if (c.outcome != "accepted" || c.count == 0) continue;
    last[c.source] = std::max(last[c.source], c.last_at);
  }
  return last;
}

absl::StatusOr<LeakScan> LeakMonitor::Scan() {
  const Config& config = *config_;
  const std::string& ws = config.workspace;
  const Micros now = clock_->Now();
  LeakInputs in;
  ASSIGN_OR_RETURN(in.outcomes,
                   store_->ListInquiryOutcomes(ws, now - config.alerts.lookback, now + 1));
  ASSIGN_OR_RETURN(in.last_arrival, LastArrivals(now));
  std::vector<Leak> found = DetectLeaks(config, in, now);
  for (Leak& l : found) l.workspace = ws;

  auto result = std::make_shared<LeakScan>();
  WriteFn write = [&config, &in, found = std::move(found), now,
                   result](WriteTx& tx) -> absl::Status {
    *result = LeakScan{};
    const std::string& ws = config.workspace;
    ASSIGN_OR_RETURN(std::vector<Leak> open, tx.ListOpenLeaks(ws));
    std::set<std::string> open_keys;
    for (const Leak& l : open) open_keys.insert(l.key);
    std::set<std::string> found_keys;
    std::vector<const Leak*> now_open;  // the leaks open after this scan
    std::map<std::string, int> opened_in_group;
    for (const Leak& l : found) {
      found_keys.insert(l.key);
      if (open_keys.count(l.key)) {
        now_open.push_back(&l);  // this scan's finding: its reason tells today's age
        continue;
      }
      ASSIGN_OR_RETURN(bool holds, StillHolds(tx, l));
      if (!holds) continue;
      Leak fresh = l;
      fresh.opened_at = now;
      RETURN_IF_ERROR(tx.InsertLeak(fresh));
      if (!fresh.inquiry_id.empty()) {
        Event e = LeakEvent(fresh, now, "leak.opened");
        RETURN_IF_ERROR(tx.AppendEvent(e));
      }
      now_open.push_back(&l);
      ++opened_in_group[l.group];
      ++result->opened;
    }
    for (const Leak& l : open) {
      if (found_keys.count(l.key)) continue;
      // A silent source stays silent until something newer than its last arrival comes, even
      // when its usual gap can no longer be learned from the window.
      if (l.kind == "silent_source" && config.FindSource(l.source) != nullptr) {
        auto last = in.last_arrival.find(l.source);
        Micros newest = last == in.last_arrival.end() ? 0 : last->second;
        for (const InquiryOutcome& o : in.outcomes) {
          if (o.source == l.source && !o.synthetic) newest = std::max(newest, o.received_at);
        }
        if (newest <= l.since) {
          now_open.push_back(&l);
          continue;
        }
      }
      Leak closed = l;
      closed.closed_at = now;
      RETURN_IF_ERROR(tx.CloseLeak(ws, l.key, l.opened_at, now));
      if (!closed.inquiry_id.empty()) {
        Event e = LeakEvent(closed, now, "leak.closed");
        RETURN_IF_ERROR(tx.AppendEvent(e));
      }
      ++result->closed;
    }
    result->open = static_cast<int>(now_open.size());

    // Groups: counts and the oldest leak of each.
    std::map<std::string, int> count;
    std::map<std::string, const Leak*> oldest;
    for (const Leak* l : now_open) {
      ++count[l->group];
      const Leak*& o = oldest[l->group];
      if (o == nullptr || l->since < o->since) o = l;
    }
    auto alert = [&](const AlertGroup& g, const std::string& what) -> absl::Status {
      const Leak* o = oldest.count(g.key) ? oldest[g.key] : nullptr;
      const std::string text = AlertText(config, g, what, o ? o->reason : "", now);
      for (const NotifyTarget& t : config.alerts.via) {
        Handoff h;
        h.id = NewUuidV7(now);
        h.workspace = ws;
        h.destination = t.via;
        h.purpose = "alert";
        h.recipient = t.to;
        h.text = text;
        h.next_attempt_at = now;
        h.created_at = now;
        RETURN_IF_ERROR(tx.InsertHandoff(h));
        ++result->alerts;
      }
      return absl::OkStatus();
    };
    ASSIGN_OR_RETURN(std::vector<AlertGroup> groups, tx.ListOpenAlertGroups(ws));
    std::set<std::string> grouped;
    for (AlertGroup& g : groups) {
      grouped.insert(g.key);
      const int n = count.count(g.key) ? count[g.key] : 0;
      g.total += opened_in_group[g.key];
      g.open = n;
      if (n == 0) {
        g.closed_at = now;
        if (g.alerted_at != 0) RETURN_IF_ERROR(alert(g, "recovered"));
      } else if (!config.alerts.via.empty() &&
                 (g.alerted_at == 0 ||
                  (config.alerts.repeat > 0 && now - g.alerted_at >= config.alerts.repeat))) {
        // Never told (the channels were added since it opened), or told too long ago.
        const bool first = g.alerted_at == 0;
        g.alerted_at = now;
        RETURN_IF_ERROR(alert(g, first ? "opened" : "reminder"));
      }
      RETURN_IF_ERROR(tx.PutAlertGroup(g));
    }
    for (const auto& [key, n] : count) {
      if (grouped.count(key)) continue;
      AlertGroup g;
      g.key = key;
      g.workspace = ws;
      g.title = LeakGroupTitle(key);
      g.open = n;
      // Leaks that were already open when the group was closed still count in the new one.
      g.total = n;
      g.opened_at = now;
      if (!config.alerts.via.empty()) {
        g.alerted_at = now;
        RETURN_IF_ERROR(alert(g, "opened"));
      }
      RETURN_IF_ERROR(tx.PutAlertGroup(g));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(store_->Write(FencedByDuty(duty_, std::move(write))));
  return *result;
}

}  // namespace handoff
