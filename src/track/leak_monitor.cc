#include "track/leak_monitor.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_set>

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
    : config_(config), store_(store), clock_(clock), thread_("leak-monitor", [this] {
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

absl::StatusOr<std::vector<const Leak*>> LeakMonitor::WriteInChunks(
    const std::vector<const Leak*>& leaks, LeakScan& scan, const ChangeFn& change) const {
  std::vector<const Leak*> changed;
  for (size_t begin = 0; begin < leaks.size(); begin += max_changes_per_write_) {
    const size_t end = std::min(leaks.size(), begin + max_changes_per_write_);
    std::vector<const Leak*> in_chunk;
    WriteFn write = [&leaks, begin, end, &change, &in_chunk](WriteTx& tx) -> absl::Status {
      in_chunk.clear();
      for (size_t i = begin; i < end; ++i) {
        ASSIGN_OR_RETURN(bool did, change(tx, *leaks[i]));
        if (did) in_chunk.push_back(leaks[i]);
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(store_->Write(FencedByDuty(duty_, std::move(write))));
    ++scan.writes;
    changed.insert(changed.end(), in_chunk.begin(), in_chunk.end());
  }
  return changed;
}

absl::StatusOr<LeakScan> LeakMonitor::Scan() {
  const Config& config = *config_;
  const std::string& ws = config.workspace;
  const Micros now = clock_->Now();
  // The window is read a page at a time and only what the rules found is kept: a scan of a busy
  // week held every inquiry of it.
  LeakDetector detector(config, now);
  const OutcomePageFn detect = [&detector](std::vector<InquiryOutcome>& page) {
    for (const InquiryOutcome& o : page) detector.Add(o);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(store_->ScanInquiryOutcomes(ws, now - config.alerts.lookback, now + 1,
                                              outcomes_per_page_, detect));
  using Arrivals = std::map<std::string, Micros>;
  ASSIGN_OR_RETURN(const Arrivals last_arrival, LastArrivals(now));
  std::vector<Leak> found = detector.Finish(last_arrival);
  for (Leak& l : found) l.workspace = ws;
  // The open leaks are read here, off the writer: only scans change them (one at a time, on the
  // node holding the duty), so what this read misses is at most a leak retention deleted since,
  // which closing then skips.
  LeakFilter only_open;
  only_open.limit = std::numeric_limits<int>::max();
  ASSIGN_OR_RETURN(std::vector<Leak> open, store_->ListLeaks(ws, only_open));
  std::sort(open.begin(), open.end(), [](const Leak& a, const Leak& b) {
    return std::tie(a.opened_at, a.key) < std::tie(b.opened_at, b.key);
  });

  // The plan: which findings are new, which open leaks no longer hold.
  std::unordered_set<std::string_view> open_keys, found_keys;
  for (const Leak& l : open) open_keys.insert(l.key);
  for (const Leak& l : found) found_keys.insert(l.key);
  std::vector<const Leak*> to_open, to_close, still_silent;
  for (const Leak& l : found) {
    if (!open_keys.count(l.key)) to_open.push_back(&l);
  }
  for (const Leak& l : open) {
    if (found_keys.count(l.key)) continue;
    // A silent source stays silent until something newer than its last arrival comes, even
    // when its usual gap can no longer be learned from the window.
    if (l.kind == "silent_source" && config.FindSource(l.source) != nullptr) {
      auto last = last_arrival.find(l.source);
      const Micros newest =
          std::max(last == last_arrival.end() ? 0 : last->second, detector.NewestArrival(l.source));
      if (newest <= l.since) {
        still_silent.push_back(&l);
        continue;
      }
    }
    to_close.push_back(&l);
  }

  LeakScan result;
  // The changes, a bounded number per write, so that a backlog (the first scan of an old
  // database, a destination down for a day) never holds the writer for long: the writes of
  // ingest and delivery commit between the chunks.
  ASSIGN_OR_RETURN(
      std::vector<const Leak*> opened_list,
      WriteInChunks(to_open, result, [now](WriteTx& tx, const Leak& l) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(bool holds, StillHolds(tx, l));
        if (!holds) return false;
        Leak fresh = l;
        fresh.opened_at = now;
        RETURN_IF_ERROR(tx.InsertLeak(fresh));
        if (!fresh.inquiry_id.empty()) {
          RETURN_IF_ERROR(tx.AppendEvent(LeakEvent(fresh, now, "leak.opened")));
        }
        return true;
      }));
  const std::unordered_set<const Leak*> opened(opened_list.begin(), opened_list.end());
  std::map<std::string, int> opened_in_group;
  for (const Leak* l : opened_list) ++opened_in_group[l->group];
  result.opened = static_cast<int>(opened_list.size());
  ASSIGN_OR_RETURN(
      std::vector<const Leak*> closed_list,
      WriteInChunks(to_close, result, [now](WriteTx& tx, const Leak& l) -> absl::StatusOr<bool> {
        absl::Status close = tx.CloseLeak(l.workspace, l.key, l.opened_at, now);
        if (absl::IsNotFound(close)) return false;  // deleted by retention since the read
        RETURN_IF_ERROR(close);
        if (!l.inquiry_id.empty()) {
          Leak closed = l;
          closed.closed_at = now;
          RETURN_IF_ERROR(tx.AppendEvent(LeakEvent(closed, now, "leak.closed")));
        }
        return true;
      }));
  result.closed = static_cast<int>(closed_list.size());

  // The leaks open after this scan: the findings (again or anew, in the rules' order), then the
  // sources still silent.
  std::vector<const Leak*> now_open;
  for (const Leak& l : found) {
    if (open_keys.count(l.key) || opened.count(&l)) now_open.push_back(&l);
  }
  now_open.insert(now_open.end(), still_silent.begin(), still_silent.end());
  result.open = static_cast<int>(now_open.size());

  // Groups: counts and the oldest leak of each, then one write for the groups and their alerts.
  std::map<std::string, int> count;
  std::map<std::string, const Leak*> oldest;
  for (const Leak* l : now_open) {
    ++count[l->group];
    const Leak*& o = oldest[l->group];
    if (o == nullptr || l->since < o->since) o = l;
  }
  int alerts = 0;
  WriteFn write = [&config, &count, &oldest, &opened_in_group, now,
                   &alerts](WriteTx& tx) -> absl::Status {
    alerts = 0;
    const std::string& ws = config.workspace;
    auto alert = [&](const AlertGroup& g, const std::string& what) -> absl::Status {
      auto o = oldest.find(g.key);
      const std::string text =
          AlertText(config, g, what, o == oldest.end() ? "" : o->second->reason, now);
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
        ++alerts;
      }
      return absl::OkStatus();
    };
    ASSIGN_OR_RETURN(std::vector<AlertGroup> groups, tx.ListOpenAlertGroups(ws));
    std::set<std::string> grouped;
    for (AlertGroup& g : groups) {
      grouped.insert(g.key);
      auto n = count.find(g.key);
      auto added = opened_in_group.find(g.key);
      g.total += added == opened_in_group.end() ? 0 : added->second;
      g.open = n == count.end() ? 0 : n->second;
      if (g.open == 0) {
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
  ++result.writes;
  result.alerts = alerts;
  return result;
}

}  // namespace handoff
