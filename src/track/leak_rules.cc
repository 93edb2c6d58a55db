#include "track/leak_rules.h"

#include <algorithm>

#include "core/time_format.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// A learned gap is never shorter than this: a busy source's quiet hour is not an outage.
constexpr Micros kMinLearnedGap = kMicrosPerHour;

std::string Age(Micros d) { return d <= 0 ? "0s" : FormatDuration(d); }

Leak Base(const InquiryOutcome& o, std::string kind, std::string key_id, std::string group) {
  Leak l;
  l.key = kind + ":" + key_id;
  l.kind = std::move(kind);
  l.inquiry_id = o.id;
  l.source = o.source;
  l.route = o.route;
  l.group = std::move(group);
  l.value = o.value;
  return l;
}

void TaskLeaks(const AlertsConfig& a, const InquiryOutcome& o, Micros now, std::vector<Leak>& out) {
  const OutcomeTask& t = *o.task;
  if (t.due_at == 0) return;
  if (o.kind == "missed_call") {
    const Micros since = t.due_at + a.missed_call;
    if (t.state == "done" || now < since) return;
    Leak l = Base(o, "missed_call", t.id, "missed_call:" + o.source);
    l.owner = t.owner;
    l.since = since;
    l.reason = fmt::format("missed call not called back: task {} past due {}{}",
                           t.state == "acknowledged" ? "acknowledged but" : "not acknowledged,",
                           Age(now - t.due_at), t.owner.empty() ? "" : ", owner " + t.owner);
    out.push_back(std::move(l));
    return;
  }
  const Micros since = t.due_at + a.unacknowledged_task;
  if (t.state != "open" || now < since) return;
  Leak l = Base(o, "overdue_task", t.id, "overdue:" + (t.owner.empty() ? "nobody" : t.owner));
  l.owner = t.owner;
  l.since = since;
  l.reason = fmt::format("task past due {}, not acknowledged{}", Age(now - t.due_at),
                         t.owner.empty() ? "" : " (owner " + t.owner + ")");
  out.push_back(std::move(l));
}

void HandoffLeaks(const AlertsConfig& a, const InquiryOutcome& o, Micros now,
                  std::vector<Leak>& out) {
  for (const OutcomeHandoff& h : o.handoffs) {
    if (h.purpose == "alert" || h.state == "confirmed") continue;
    const std::string group = "handoff:" + h.destination;
    const std::string why = h.last_error.empty() ? "" : ": " + h.last_error;
    if (h.state == "dead") {
      Leak l = Base(o, "dead_handoff", h.id, group);
      l.destination = h.destination;
      l.since = h.created_at;
      l.reason = fmt::format("{} to {} gave up after {} attempt{}{}", h.purpose, h.destination,
                             h.attempts, h.attempts == 1 ? "" : "s", why);
      out.push_back(std::move(l));
      continue;
    }
    const Micros since = h.created_at + a.unconfirmed_handoff;
    if (now < since) continue;
    Leak l = Base(o, "unconfirmed_handoff", h.id, group);
    l.destination = h.destination;
    l.since = since;
    l.reason =
        fmt::format("{} to {} not confirmed after {} ({} attempt{}){}", h.purpose, h.destination,
                    Age(now - h.created_at), h.attempts, h.attempts == 1 ? "" : "s", why);
    out.push_back(std::move(l));
  }
}

}  // namespace

std::optional<Leak> ProbeFailure(const Config& config, const InquiryOutcome& probe, Micros now) {
  const Micros deadline = probe.received_at + config.probes.deadline;
  bool delivered = probe.stage >= Stage::kTrigger;
  int confirmed = 0;
  for (const OutcomeHandoff& h : probe.handoffs) {
    const bool in_time = h.state == "confirmed" && h.confirmed_at <= deadline;
    delivered = delivered && in_time;
    confirmed += in_time ? 1 : 0;
  }
  if (delivered || now < deadline) return std::nullopt;
  Leak l = Base(probe, "probe_failed", probe.id, "probe:" + probe.source);
  l.since = deadline;
  if (probe.stage < Stage::kTrigger) {
    l.reason = fmt::format("probe of {} not routed within {} (stage {})", probe.source,
                           FormatDuration(config.probes.deadline), StageName(probe.stage));
  } else {
    std::string why;
    for (const OutcomeHandoff& h : probe.handoffs) {
      if (h.state != "confirmed" && !h.last_error.empty()) why = ": " + h.last_error;
    }
    l.reason =
        fmt::format("probe of {} not confirmed within {} ({} of {} handoffs){}", probe.source,
                    FormatDuration(config.probes.deadline), confirmed, probe.handoffs.size(), why);
  }
  return l;
}

Micros ExpectedGap(const SourceConfig& source, const std::vector<Micros>& arrivals) {
  if (source.expect_every > 0) return source.expect_every;
  if (arrivals.size() < static_cast<size_t>(kMinLearnedGaps) + 1) return 0;
  std::vector<Micros> gaps;
  gaps.reserve(arrivals.size() - 1);
  for (size_t i = 1; i < arrivals.size(); ++i) gaps.push_back(arrivals[i] - arrivals[i - 1]);
  std::sort(gaps.begin(), gaps.end());
  // Nearest-rank 90th percentile.
  const size_t rank = (gaps.size() * 9 + 9) / 10;
  const Micros p90 = gaps[std::min(gaps.size(), std::max<size_t>(rank, 1)) - 1];
  return std::max(3 * p90, kMinLearnedGap);
}

std::vector<Leak> DetectLeaks(const Config& config, const LeakInputs& in, Micros now) {
  LeakDetector detector(config, now);
  for (const InquiryOutcome& o : in.outcomes) detector.Add(o);
  return detector.Finish(in.last_arrival);
}

void LeakDetector::Add(const InquiryOutcome& o) {
  const AlertsConfig& a = config_.alerts;
  if (o.synthetic) {
    if (auto failed = ProbeFailure(config_, o, now_)) found_.push_back(*std::move(failed));
    return;
  }
  arrivals_[o.source].push_back(o.received_at);
  const bool owned = o.task && !o.task->owner.empty();
  if (!owned && o.status != "canceled" && now_ >= o.received_at + a.unassigned) {
    Leak l = Base(o, "unassigned", o.id, "unassigned:" + o.source);
    l.since = o.received_at + a.unassigned;
    const std::string age = Age(now_ - o.received_at);
    if (o.status == "unrouted") {
      l.reason = fmt::format("no route took it ({} ago) and there is no fallback", age);
    } else if (o.route.empty()) {
      l.reason = fmt::format("not routed {} after it arrived (stage {})", age, StageName(o.stage));
    } else {
      l.reason = fmt::format("route '{}' gave it no owner ({} ago)", o.route, age);
    }
    found_.push_back(std::move(l));
  }
  if (o.task) TaskLeaks(a, o, now_, found_);
  HandoffLeaks(a, o, now_, found_);
}

std::vector<Leak> LeakDetector::Finish(const std::map<std::string, Micros>& last_arrival) {
  for (const SourceConfig& s : config_.sources) {
    std::vector<Micros>& seen = arrivals_[s.name];
    std::sort(seen.begin(), seen.end());
    Micros last = seen.empty() ? 0 : seen.back();
    if (auto it = last_arrival.find(s.name); it != last_arrival.end()) {
      last = std::max(last, it->second);
    }
    const Micros gap = ExpectedGap(s, seen);
    if (last == 0 || gap == 0 || now_ - last <= gap) continue;
    Leak l;
    l.kind = "silent_source";
    l.key = "silent_source:" + s.name;
    l.source = s.name;
    l.group = "silent:" + s.name;
    // `since` is the last arrival: the leak lasts until something newer arrives.
    l.since = last;
    l.reason = fmt::format("no inquiry from {} for {} (expected at least every {}{})", s.name,
                           Age(now_ - last), FormatDuration(gap),
                           s.expect_every > 0 ? "" : ", learned from its history");
    found_.push_back(std::move(l));
  }
  return std::move(found_);
}

Micros LeakDetector::NewestArrival(const std::string& source) const {
  auto it = arrivals_.find(source);
  if (it == arrivals_.end() || it->second.empty()) return 0;
  return *std::max_element(it->second.begin(), it->second.end());
}

std::string LeakGroupTitle(const std::string& group) {
  const size_t colon = group.find(':');
  const std::string kind = group.substr(0, colon);
  const std::string subject = colon == std::string::npos ? "" : group.substr(colon + 1);
  if (kind == "unassigned") return fmt::format("inquiries from {} have no owner", subject);
  if (kind == "overdue") {
    return subject == "nobody"
               ? "unowned tasks are past due"
               : fmt::format("tasks of {} are past due and not acknowledged", subject);
  }
  if (kind == "missed_call") {
    return fmt::format("missed calls on {} are not being called back", subject);
  }
  if (kind == "handoff") return fmt::format("handoffs to {} are not confirmed", subject);
  if (kind == "silent") return fmt::format("{} has stopped sending inquiries", subject);
  if (kind == "probe") {
    return fmt::format("probes of {} do not make it through end to end", subject);
  }
  return group;
}

}  // namespace handoff
