#include "track/scorecard.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "core/time_format.h"
#include "fmt/format.h"
#include "track/leak_rules.h"
#include "track/percentile.h"

namespace handoff {
// Named, not anonymous: ScorecardBuilder::State holds these.
namespace scorecard_internal {

// What one path (or the business overall) is scored from: counts over its inquiries, added one
// at a time as the window is read, so that a window of any size holds no inquiry of its own (two
// timings each at most); then its leaks and probes.
struct PathTally {
  int inquiries = 0;  // non-synthetic, in the window
  // Transfer: the path's deliveries.
  int64_t deliveries_decided = 0, confirmed_in_time = 0, confirmed_late = 0, deliveries_dead = 0,
          deliveries_not_due = 0;
  std::vector<Micros> to_confirm;
  // Context.
  int64_t with_context = 0;
  std::map<std::string, int64_t> missing;
  // Trigger.
  int64_t due_an_owner = 0, owned = 0, tasks_due = 0, acknowledged_in_time = 0;
  std::vector<Micros> to_acknowledge;
  std::vector<std::string> delivered_to;  // the destinations of its deliveries, first seen first
  // Its inquiries with a leak (counted against the path), and their value.
  int leaked = 0;
  double value_at_risk = 0;
  std::vector<const Leak*> leaks;             // counted against the path
  std::vector<const InquiryOutcome*> probes;  // synthetic probes of the path's source
};

}  // namespace scorecard_internal

namespace {

using scorecard_internal::PathTally;

using PathKey = std::pair<std::string, std::string>;  // (source, route)

// "12 of 15 (80%)", the percentage rounded down so that it never looks better than its score.
std::string OfTotal(int64_t ok, int64_t total) {
  return fmt::format("{} of {} ({}%)", ok, total, total == 0 ? 0 : ok * 100 / total);
}

void AddTimings(const std::vector<Micros>& samples, nlohmann::json& figures) {
  if (samples.empty()) return;
  figures["p50_ms"] = PercentileMs(samples, 50);
  figures["p95_ms"] = PercentileMs(samples, 95);
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

CheckScore EntryCheck(const std::vector<EntryCount>& counts,
                      const std::function<bool(const std::string&)>& in_scope,
                      const std::vector<const Leak*>& leaks) {
  CheckScore c;
  c.check = "entry";
  std::map<std::string, int64_t> by_outcome;
  nlohmann::json reasons = nlohmann::json::object();
  for (const EntryCount& e : counts) {
    if (!in_scope(e.source)) continue;
    by_outcome[e.outcome] += e.count;
    if (e.outcome == "rejected") {
      const std::string reason = e.reason.empty() ? "unknown" : e.reason;
      reasons[reason] = reasons.value(reason, int64_t{0}) + e.count;
    }
  }
  for (const char* outcome :
       {"accepted", "updated", "duplicate", "ignored", "spam", "handshake", "rejected"}) {
    c.figures[outcome] = by_outcome[outcome];
  }
  c.figures["rejected_reasons"] = std::move(reasons);
  // A thread update is a delivery that got in as much as a new inquiry is.
  const int64_t taken = by_outcome["accepted"] + by_outcome["updated"];
  const int64_t total = taken + by_outcome["rejected"];
  c.score = ScoreShare(taken, total);
  if (total > 0) {
    c.figures["share"] = static_cast<double>(taken) / static_cast<double>(total);
    c.summary = fmt::format("{} deliveries accepted, {}", OfTotal(taken, total),
                            Plural(by_outcome["duplicate"], "duplicate", "duplicates"));
  } else {
    c.summary = "no deliveries counted";
  }
  std::vector<std::string> silent;
  for (const Leak* l : leaks) {
    if (l->kind == "silent_source" && l->closed_at == 0) silent.push_back(l->source);
  }
  if (!silent.empty()) {
    // The source is broken right now, whatever it delivered earlier in the window.
    c.score = 1;
    c.figures["silent_sources"] = silent;
    std::string names;
    for (const std::string& s : silent) names += (names.empty() ? "" : ", ") + s;
    c.summary += fmt::format("; {} stopped sending", names);
  }
  return c;
}

void TallyTransfer(const InquiryOutcome& o, Micros deadline, Micros until, PathTally& t) {
  for (const OutcomeHandoff& h : o.handoffs) {
    if (h.purpose != "deliver") continue;
    if (std::find(t.delivered_to.begin(), t.delivered_to.end(), h.destination) ==
        t.delivered_to.end()) {
      t.delivered_to.push_back(h.destination);
    }
    const bool confirmed = h.confirmed_at != 0;
    if (!confirmed && h.state != "dead" && h.created_at + deadline > until) {
      // Still inside its deadline at the window's end: neither a success nor a failure yet.
      ++t.deliveries_not_due;
      continue;
    }
    ++t.deliveries_decided;
    if (h.state == "dead") ++t.deliveries_dead;
    if (!confirmed) continue;
    t.to_confirm.push_back(h.confirmed_at - h.created_at);
    if (h.confirmed_at - h.created_at <= deadline) {
      ++t.confirmed_in_time;
    } else {
      ++t.confirmed_late;
    }
  }
}

CheckScore TransferCheck(const PathTally& t, Micros deadline) {
  CheckScore c;
  c.check = "transfer";
  const int64_t decided = t.deliveries_decided, in_time = t.confirmed_in_time,
                dead = t.deliveries_dead;
  c.score = ScoreShare(in_time, decided);
  c.figures = {{"deliveries", decided},
               {"confirmed_in_time", in_time},
               {"confirmed_late", t.confirmed_late},
               {"unconfirmed", decided - in_time - t.confirmed_late},
               {"dead", dead},
               {"not_yet_due", t.deliveries_not_due},
               {"deadline_ms", deadline / kMicrosPerMilli}};
  AddTimings(t.to_confirm, c.figures);
  if (decided == 0) {
    c.summary = "no deliveries due";
    return c;
  }
  c.figures["share"] = static_cast<double>(in_time) / static_cast<double>(decided);
  c.summary = fmt::format("{} deliveries confirmed within {}", OfTotal(in_time, decided),
                          FormatDuration(deadline));
  if (dead > 0) c.summary += fmt::format(", {} dead", dead);
  return c;
}

void TallyContext(const Config& config, const InquiryOutcome& o, PathTally& t) {
  const RouteConfig* route = nullptr;
  for (const RouteConfig& r : config.routes) {
    if (r.name == o.route) {
      route = &r;
      break;
    }
  }
  bool has;
  if (route != nullptr && !route->require.empty() && o.task) {
    has = o.task->missing.empty();
    for (const std::string& m : o.task->missing) ++t.missing[m];
  } else {
    // With nothing required (or no task to say what is missing), the least an owner needs is
    // a way to reach the lead.
    has = o.has_phone || o.has_email;
    if (!has) ++t.missing["contact.phone|contact.email"];
  }
  if (has) ++t.with_context;
}

CheckScore ContextCheck(const PathTally& t) {
  CheckScore c;
  c.check = "context";
  const int64_t with = t.with_context, total = t.inquiries;
  c.score = ScoreShare(with, total);
  c.figures = {{"inquiries", total}, {"with_context", with}, {"missing", t.missing}};
  if (total == 0) {
    c.summary = "no inquiries";
    return c;
  }
  c.figures["share"] = static_cast<double>(with) / static_cast<double>(total);
  c.summary = fmt::format("{} inquiries had the context their route needs", OfTotal(with, total));
  return c;
}

void TallyTrigger(const InquiryOutcome& o, Micros unassigned, Micros until, PathTally& t) {
  const bool has_owner = o.task && !o.task->owner.empty();
  // Like the `unassigned` leak: routing gets `alerts.unassigned` to find an owner, and a
  // canceled booking needs none.
  if (has_owner || (o.status != "canceled" && o.received_at + unassigned <= until)) {
    ++t.due_an_owner;
    if (has_owner) ++t.owned;
  }
  if (!o.task || o.task->due_at == 0) return;
  const OutcomeTask& task = *o.task;
  Micros answered = task.acknowledged_at;
  if (task.done_at != 0 && (answered == 0 || task.done_at < answered)) answered = task.done_at;
  if (answered != 0) t.to_acknowledge.push_back(answered - task.created_at);
  if (answered == 0 && task.due_at > until) return;  // not due yet: no verdict
  ++t.tasks_due;
  if (answered != 0 && answered <= task.due_at) ++t.acknowledged_in_time;
}

CheckScore TriggerCheck(const PathTally& t) {
  CheckScore c;
  c.check = "trigger";
  const int64_t counted = t.due_an_owner, owned = t.owned, tasks = t.tasks_due,
                on_time = t.acknowledged_in_time;
  const int owned_score = ScoreShare(owned, counted);
  const int ack_score = ScoreShare(on_time, tasks);
  // The weaker half: an owner who never answers is as bad as no owner.
  c.score = owned_score;
  if (owned_score == 0 || (ack_score != 0 && ack_score < owned_score)) c.score = ack_score;
  c.figures = {{"inquiries", counted},
               {"owned", owned},
               {"tasks_due", tasks},
               {"acknowledged_in_time", on_time}};
  if (counted > 0) {
    c.figures["owned_share"] = static_cast<double>(owned) / static_cast<double>(counted);
  }
  if (tasks > 0) {
    c.figures["acknowledged_share"] = static_cast<double>(on_time) / static_cast<double>(tasks);
  }
  AddTimings(t.to_acknowledge, c.figures);
  if (counted == 0 && tasks == 0) {
    c.summary = "no inquiries due an owner";
    return c;
  }
  c.summary = fmt::format("{} given an owner, {} tasks acknowledged before due",
                          OfTotal(owned, counted), OfTotal(on_time, tasks));
  return c;
}

// True when an alert group of the leak's key was alerted while the leak was open.
bool Alerted(const Leak& l, const std::vector<AlertGroup>& groups) {
  for (const AlertGroup& g : groups) {
    if (g.key != l.group || g.alerted_at == 0) continue;
    const bool group_before_leak_closed = l.closed_at == 0 || g.opened_at <= l.closed_at;
    const bool group_open_when_leak_opened = g.closed_at == 0 || g.closed_at >= l.opened_at;
    if (group_before_leak_closed && group_open_when_leak_opened) return true;
  }
  return false;
}

CheckScore VisibilityCheck(const Config& config, const std::vector<const Leak*>& leaks,
                           const std::vector<AlertGroup>& groups,
                           const std::vector<const InquiryOutcome*>& probes, Micros until) {
  CheckScore c;
  c.check = "visibility";
  int64_t alerted = 0;
  for (const Leak* l : leaks) {
    if (Alerted(*l, groups)) ++alerted;
  }
  const int64_t total = static_cast<int64_t>(leaks.size());
  c.figures = {{"leaks", total}, {"alerted", alerted}};
  if (total > 0) {
    c.figures["share"] = static_cast<double>(alerted) / static_cast<double>(total);
  }
  // Probes whose deadline has come: those that made it through in time passed.
  int64_t probes_due = 0, probes_passed = 0;
  for (const InquiryOutcome* p : probes) {
    const bool failed = ProbeFailure(config, *p, until).has_value();
    if (!failed && p->received_at + config.probes.deadline > until) continue;  // still running
    ++probes_due;
    probes_passed += failed ? 0 : 1;
  }
  if (probes_due > 0) c.figures["probes"] = {{"due", probes_due}, {"passed", probes_passed}};
  if (config.alerts.via.empty()) {
    c.score = 1;
    c.summary =
        fmt::format("no alert channel: nobody is told ({})", Plural(total, "leak", "leaks"));
    return c;
  }
  c.score = ScoreShare(alerted, total);
  c.summary = total == 0 ? "no leaks to tell anyone about"
                         : fmt::format("{} leaks alerted", OfTotal(alerted, total));
  if (probes_due > 0) {
    // Failing probes mean the path can break unseen by its traffic: the lower score counts.
    const int probe_score = ScoreShare(probes_passed, probes_due);
    c.score = c.score == 0 ? probe_score : std::min(c.score, probe_score);
    c.summary += fmt::format("; {} probes passed", OfTotal(probes_passed, probes_due));
  }
  return c;
}

// One inquiry of the window into its path's tally.
void TallyInquiry(const Config& config, Micros until, const InquiryOutcome& o, PathTally& t) {
  ++t.inquiries;
  TallyTransfer(o, config.alerts.unconfirmed_handoff, until, t);
  TallyContext(config, o, t);
  TallyTrigger(o, config.alerts.unassigned, until, t);
}

PathScore ScorePath(const Config& config, const std::vector<EntryCount>& entry_counts,
                    const std::vector<AlertGroup>& alert_groups, Micros until,
                    const PathTally& tally,
                    const std::function<bool(const std::string&)>& entry_scope) {
  PathScore p;
  p.inquiries = tally.inquiries;
  p.checks.push_back(EntryCheck(entry_counts, entry_scope, tally.leaks));
  p.checks.push_back(TransferCheck(tally, config.alerts.unconfirmed_handoff));
  p.checks.push_back(ContextCheck(tally));
  p.checks.push_back(TriggerCheck(tally));
  p.checks.push_back(VisibilityCheck(config, tally.leaks, alert_groups, tally.probes, until));
  // A chain is as strong as its weakest link: the lowest check with data caps the path.
  for (const CheckScore& c : p.checks) {
    if (c.score != 0 && (p.score == 0 || c.score < p.score)) p.score = c.score;
  }
  p.rating = ScoreRating(p.score);
  p.leaks = static_cast<int>(tally.leaks.size());
  p.leaked = tally.leaked;
  p.value_at_risk = tally.value_at_risk;
  return p;
}

std::vector<std::string> Destinations(const Config& config, const PathKey& key,
                                      const PathTally& tally) {
  std::vector<std::string> out;
  for (const RouteConfig& r : config.routes) {
    if (r.name == key.second && !key.second.empty()) out = r.deliver;
  }
  // Inquiries routed before a config change may have gone elsewhere.
  for (const std::string& d : tally.delivered_to) {
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

nlohmann::json PathJson(const PathScore& p) {
  nlohmann::json checks = nlohmann::json::array();
  for (const CheckScore& c : p.checks) {
    checks.push_back(
        {{"check", c.check}, {"score", c.score}, {"summary", c.summary}, {"figures", c.figures}});
  }
  return {{"source", p.source},         {"route", p.route},   {"destinations", p.destinations},
          {"inquiries", p.inquiries},   {"score", p.score},   {"rating", p.rating},
          {"leaks", p.leaks},           {"leaked", p.leaked}, {"value_at_risk", p.value_at_risk},
          {"checks", std::move(checks)}};
}

std::string PathLabel(const PathScore& p) {
  std::string label = p.source + " -> " + (p.route.empty() ? "(no route)" : p.route);
  for (size_t i = 0; i < p.destinations.size(); ++i) {
    label += (i == 0 ? " -> " : ", ") + p.destinations[i];
  }
  return label;
}

std::string FormatValue(double v) {
  return v == static_cast<double>(static_cast<int64_t>(v)) ? fmt::format("{:.0f}", v)
                                                           : fmt::format("{:.2f}", v);
}

std::string ScoreCell(int score) { return score == 0 ? "-" : std::to_string(score); }

// The lowest scored check: what to look at first on a path.
const CheckScore* Weakest(const PathScore& p) {
  const CheckScore* weakest = nullptr;
  for (const CheckScore& c : p.checks) {
    if (c.score != 0 && (weakest == nullptr || c.score < weakest->score)) weakest = &c;
  }
  return weakest;
}

}  // namespace

int ScoreShare(int64_t ok, int64_t total) {
  if (total <= 0) return 0;
  int score = 5;
  for (int64_t threshold : kScoreThresholdsPercent) {
    // ok / total >= threshold / 100, without floating-point rounding at the boundary.
    if (ok * 100 >= threshold * total) return score;
    --score;
  }
  return score;
}

std::string ScoreRating(int score) {
  switch (score) {
    case 1:
    case 2:
      return "disconnected";
    case 3:
      return "partial";
    case 4:
      return "strong";
    case 5:
      return "reducing leakage";
    default:
      return "no data";
  }
}

struct ScorecardBuilder::State {
  State(const Config& c, Micros f, Micros u, std::vector<EntryCount> e, std::vector<Leak> l,
        std::vector<AlertGroup> g)
      : config(c),
        from(f),
        until(u),
        entry_counts(std::move(e)),
        leaks(std::move(l)),
        alert_groups(std::move(g)) {
    for (const Leak& leak : leaks) {
      if (!leak.inquiry_id.empty()) leak_inquiries.insert(leak.inquiry_id);
    }
  }

  const Config& config;
  const Micros from, until;
  const std::vector<EntryCount> entry_counts;
  const std::vector<Leak> leaks;
  const std::vector<AlertGroup> alert_groups;
  std::set<std::string> leak_inquiries;        // the inquiries the leaks name
  std::set<std::string> synthetic_leaked;      // of those, the synthetic ones in the window
  std::map<std::string, PathKey> leaked_path;  // of those, the path of each other one in it
  std::map<PathKey, PathTally> paths;
  PathTally all;
  std::vector<InquiryOutcome> probes;  // the window's synthetic inquiries
};

ScorecardBuilder::ScorecardBuilder(const Config& config, Micros from, Micros until,
                                   std::vector<EntryCount> entry_counts, std::vector<Leak> leaks,
                                   std::vector<AlertGroup> alert_groups)
    : state_(std::make_unique<State>(config, from, until, std::move(entry_counts), std::move(leaks),
                                     std::move(alert_groups))) {}

ScorecardBuilder::~ScorecardBuilder() = default;
ScorecardBuilder::ScorecardBuilder(ScorecardBuilder&&) noexcept = default;

void ScorecardBuilder::Add(const InquiryOutcome& o) {
  State& s = *state_;
  const bool leaked = s.leak_inquiries.count(o.id) > 0;
  if (o.synthetic) {
    if (leaked) s.synthetic_leaked.insert(o.id);
    s.probes.push_back(o);
    return;
  }
  const PathKey key{o.source, o.route};
  PathTally& path = s.paths[key];
  TallyInquiry(s.config, s.until, o, path);
  TallyInquiry(s.config, s.until, o, s.all);
  if (leaked) {
    s.leaked_path[o.id] = key;
    for (PathTally* t : {&path, &s.all}) {
      ++t->leaked;
      t->value_at_risk += o.value;
    }
  }
}

Scorecard ScorecardBuilder::Finish() {
  State& s = *state_;
  Scorecard card;
  card.from = s.from;
  card.until = s.until;
  std::map<PathKey, PathTally>& paths = s.paths;
  PathTally& all = s.all;
  for (const InquiryOutcome& p : s.probes) all.probes.push_back(&p);

  std::vector<const Leak*> silent;
  for (const Leak& l : s.leaks) {
    if (!l.inquiry_id.empty() && s.synthetic_leaked.count(l.inquiry_id)) continue;
    all.leaks.push_back(&l);
    if (l.inquiry_id.empty()) {
      silent.push_back(&l);
      continue;
    }
    // The inquiry's own path when it is in the window; otherwise the path the leak names.
    auto it = s.leaked_path.find(l.inquiry_id);
    const PathKey key = it != s.leaked_path.end() ? it->second : PathKey{l.source, l.route};
    paths[key].leaks.push_back(&l);
  }

  // A source that delivered nothing that was kept (everything rejected, or silent) is still a
  // path: the broken ones most of all.
  auto has_path = [&paths](const std::string& source) {
    auto it = paths.lower_bound({source, ""});
    return it != paths.end() && it->first.first == source;
  };
  for (const EntryCount& e : s.entry_counts) {
    if (!has_path(e.source)) paths[{e.source, ""}];
  }
  for (const Leak* l : silent) {
    if (!has_path(l->source)) paths[{l->source, ""}];
  }
  for (auto& [key, tally] : paths) {
    for (const Leak* l : silent) {
      if (l->source == key.first) tally.leaks.push_back(l);
    }
    // A probe of a source proves every path of that source (probes alone make no path).
    for (const InquiryOutcome* p : all.probes) {
      if (p->source == key.first) tally.probes.push_back(p);
    }
  }

  for (const auto& [key, tally] : paths) {
    const std::string& source = key.first;
    PathScore p = ScorePath(s.config, s.entry_counts, s.alert_groups, s.until, tally,
                            [&source](const std::string& e) { return e == source; });
    p.source = key.first;
    p.route = key.second;
    p.destinations = Destinations(s.config, key, tally);
    card.paths.push_back(std::move(p));
  }
  card.overall = ScorePath(s.config, s.entry_counts, s.alert_groups, s.until, all,
                           [](const std::string&) { return true; });

  for (size_t i = 0; i < card.paths.size(); ++i) {
    if (card.paths[i].leaks > 0) card.fix_first.push_back(i);
  }
  std::stable_sort(card.fix_first.begin(), card.fix_first.end(), [&card](size_t a, size_t b) {
    const PathScore& x = card.paths[a];
    const PathScore& y = card.paths[b];
    if (x.value_at_risk != y.value_at_risk) return x.value_at_risk > y.value_at_risk;
    if (x.leaked != y.leaked) return x.leaked > y.leaked;
    return x.leaks > y.leaks;
  });
  return card;
}

Scorecard ComputeScorecard(const Config& config, const ScoreInputs& in) {
  ScorecardBuilder builder(config, in.from, in.until, in.entry_counts, in.leaks, in.alert_groups);
  for (const InquiryOutcome& o : in.outcomes) builder.Add(o);
  return builder.Finish();
}

nlohmann::json ScorecardJson(const Scorecard& card) {
  nlohmann::json paths = nlohmann::json::array();
  for (const PathScore& p : card.paths) paths.push_back(PathJson(p));
  nlohmann::json fix = nlohmann::json::array();
  for (size_t i : card.fix_first) {
    const PathScore& p = card.paths[i];
    fix.push_back({{"path", i},
                   {"source", p.source},
                   {"route", p.route},
                   {"value_at_risk", p.value_at_risk},
                   {"leaked", p.leaked},
                   {"leaks", p.leaks}});
  }
  return {{"from", FormatRfc3339(card.from)},
          {"until", FormatRfc3339(card.until)},
          {"thresholds_percent", kScoreThresholdsPercent},
          {"overall", PathJson(card.overall)},
          {"paths", std::move(paths)},
          {"fix_first", std::move(fix)}};
}

std::string ScorecardText(const Scorecard& card) {
  std::vector<std::pair<std::string, const PathScore*>> rows = {{"overall", &card.overall}};
  for (const PathScore& p : card.paths) rows.emplace_back(PathLabel(p), &p);
  size_t width = 4;  // "path"
  for (const auto& [label, p] : rows) width = std::max(width, label.size());

  std::string out =
      fmt::format("Scorecard {} .. {}\n\n", FormatRfc3339(card.from), FormatRfc3339(card.until));
  out += fmt::format("{:<{}}  {:>9}", "path", width, "inquiries");
  for (const char* check : kScoreChecks) out += fmt::format("  {}", check);
  out += "  score\n";
  for (const auto& [label, p] : rows) {
    out += fmt::format("{:<{}}  {:>9}", label, width, p->inquiries);
    for (size_t i = 0; i < kScoreChecks.size(); ++i) {
      const int score = i < p->checks.size() ? p->checks[i].score : 0;
      out += fmt::format("  {:>{}}", ScoreCell(score), std::string(kScoreChecks[i]).size());
    }
    out += fmt::format("  {} {}\n", ScoreCell(p->score), p->rating);
  }

  out += "\nOverall\n";
  for (const CheckScore& c : card.overall.checks) {
    out += fmt::format("  {:<10}  {}  {}\n", c.check, ScoreCell(c.score), c.summary);
  }

  out += "\nFix this first\n";
  if (card.fix_first.empty()) out += "  nothing leaked in this window\n";
  for (size_t rank = 0; rank < card.fix_first.size(); ++rank) {
    const PathScore& p = card.paths[card.fix_first[rank]];
    out += fmt::format("  {}. {}: value at risk {} in {}, {}\n", rank + 1, PathLabel(p),
                       FormatValue(p.value_at_risk),
                       Plural(p.leaked, "leaked inquiry", "leaked inquiries"),
                       Plural(p.leaks, "leak", "leaks"));
    if (const CheckScore* w = Weakest(p)) {
      out += fmt::format("     weakest: {} {}: {}\n", w->check, w->score, w->summary);
    }
  }
  return out;
}

}  // namespace handoff
