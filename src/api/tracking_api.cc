#include "api/tracking_api.h"

#include <functional>
#include <map>
#include <variant>

#include "api/responses.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "track/continuity_map.h"
#include "track/scorecard.h"

namespace handoff {
namespace {

constexpr Micros kMinWindow = kMicrosPerHour;
constexpr Micros kMaxWindow = 90 * kMicrosPerDay;

HttpResponse BadQuery(const std::string& message) {
  return HttpResponse::JsonError(400, "bad_query", message);
}

// The query's parameters, each allowed name at most once; anything else is an error.
std::variant<std::map<std::string, std::string>, HttpResponse> Params(
    const HttpRequest& request, std::initializer_list<const char*> allowed) {
  auto params = ParseUrlEncoded(request.query);
  if (!params) return BadQuery("the query string has a malformed escape");
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : *params) {
    bool known = false;
    std::string names;
    for (const char* a : allowed) {
      known = known || k == a;
      names += (names.empty() ? "" : ", ") + std::string(a);
    }
    if (!known) {
      return BadQuery(fmt::format("unknown parameter '{}' (expected {})", k.substr(0, 40), names));
    }
    out[k] = v;
  }
  return out;
}

// `window=` as a duration between an hour and 90 days; `fallback` when absent.
std::variant<Micros, HttpResponse> Window(const std::map<std::string, std::string>& params,
                                          Micros fallback) {
  auto it = params.find("window");
  if (it == params.end()) return fallback;
  auto d = ParseDuration(it->second);
  if (!d.ok() || *d < kMinWindow || *d > kMaxWindow) {
    return BadQuery("window must be a duration from 1h to 90d, such as 24h or 7d");
  }
  return *d;
}

// What a scorecard of a window starting at `from` reads besides its inquiries.
struct ScoreFacts {
  std::vector<EntryCount> entry_counts;
  std::vector<Leak> leaks;
  std::vector<AlertGroup> alert_groups;
};

absl::StatusOr<ScoreFacts> ReadScoreFacts(Store& store, const std::string& workspace, Micros from) {
  ScoreFacts facts;
  ASSIGN_OR_RETURN(facts.entry_counts, store.ListEntryCounts(workspace, from));
  LeakFilter filter;
  filter.closed_since = from;
  filter.limit = 100000;
  ASSIGN_OR_RETURN(facts.leaks, store.ListLeaks(workspace, filter));
  ASSIGN_OR_RETURN(facts.alert_groups, store.ListAlertGroups(workspace, from, 100000));
  return facts;
}

// Feeds the inquiries received in [from, until) to `add` a page at a time: a scorecard of a busy
// window holds one page of them, not the window.
absl::Status ScanWindow(Store& store, const std::string& workspace, Micros from, Micros until,
                        int page_size, const std::function<void(const InquiryOutcome&)>& add) {
  return store.ScanInquiryOutcomes(workspace, from, until, page_size,
                                   [&add](std::vector<InquiryOutcome>& page) {
                                     for (const InquiryOutcome& o : page) add(o);
                                     return absl::OkStatus();
                                   });
}

}  // namespace

HttpResponse TrackingApi::Scorecard(const HttpRequest& request) const {
  auto params = Params(request, {"window", "format"});
  if (auto* e = std::get_if<HttpResponse>(&params)) return *e;
  const auto& p = std::get<std::map<std::string, std::string>>(params);
  auto window = Window(p, 7 * kMicrosPerDay);
  if (auto* e = std::get_if<HttpResponse>(&window)) return *e;
  const std::string format = p.count("format") ? p.at("format") : "json";
  if (format != "json" && format != "text") return BadQuery("format must be json or text");
  const Micros until = clock_->Now() + 1;
  const Micros from = until - std::get<Micros>(window);
  auto facts = ReadScoreFacts(*store_, config_->workspace, from);
  if (!facts.ok()) return StoreError(facts.status());
  ScorecardBuilder builder(*config_, from, until, std::move(facts->entry_counts),
                           std::move(facts->leaks), std::move(facts->alert_groups));
  absl::Status read = ScanWindow(*store_, config_->workspace, from, until, outcomes_per_page_,
                                 [&builder](const InquiryOutcome& o) { builder.Add(o); });
  if (!read.ok()) return StoreError(read);
  const handoff::Scorecard card = builder.Finish();
  if (format == "text") {
    HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = ScorecardText(card);
    return r;
  }
  return HttpResponse::Json(
      200, ScorecardJson(card).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse TrackingApi::ScorecardTrend(const HttpRequest& request) const {
  auto params = Params(request, {"days"});
  if (auto* e = std::get_if<HttpResponse>(&params)) return *e;
  const auto& p = std::get<std::map<std::string, std::string>>(params);
  int days = 14;
  if (p.count("days")) {
    const std::string& v = p.at("days");
    if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(v) < 1 || std::stoi(v) > 90) {
      return BadQuery("days must be a number from 1 to 90");
    }
    days = std::stoi(v);
  }
  // One read of the whole span; each day is scored from its own slice.
  const Micros until = clock_->Now() + 1;
  const Micros from = until - days * kMicrosPerDay;
  auto all = ReadScoreFacts(*store_, config_->workspace, from);
  if (!all.ok()) return StoreError(all.status());
  // Entry counts carry only totals since a time: a day's counts are the difference between the
  // totals since its start and since its end, so each day boundary is read once.
  std::vector<std::vector<EntryCount>> since_boundary = {all->entry_counts};
  for (int d = 1; d <= days; ++d) {
    auto counts = store_->ListEntryCounts(config_->workspace, from + d * kMicrosPerDay);
    if (!counts.ok()) return StoreError(counts.status());
    since_boundary.push_back(*std::move(counts));
  }
  std::vector<ScorecardBuilder> day_cards;
  for (int d = 0; d < days; ++d) {
    const Micros day_from = from + d * kMicrosPerDay;
    const Micros day_until = day_from + kMicrosPerDay;
    std::vector<EntryCount> entry_counts;
    for (EntryCount c : since_boundary[d]) {
      for (const EntryCount& later : since_boundary[d + 1]) {
        if (later.source == c.source && later.outcome == c.outcome && later.reason == c.reason) {
          c.count -= later.count;
        }
      }
      if (c.count > 0) entry_counts.push_back(c);
    }
    std::vector<Leak> leaks;
    for (const Leak& l : all->leaks) {
      if (l.opened_at < day_until && (l.closed_at == 0 || l.closed_at >= day_from)) {
        leaks.push_back(l);
      }
    }
    std::vector<AlertGroup> alert_groups;
    for (const AlertGroup& g : all->alert_groups) {
      if (g.opened_at < day_until && (g.closed_at == 0 || g.closed_at >= day_from)) {
        alert_groups.push_back(g);
      }
    }
    day_cards.emplace_back(*config_, day_from, day_until, std::move(entry_counts), std::move(leaks),
                           std::move(alert_groups));
  }
  absl::Status read = ScanWindow(*store_, config_->workspace, from, until, outcomes_per_page_,
                                 [&](const InquiryOutcome& o) {
                                   const Micros day = (o.received_at - from) / kMicrosPerDay;
                                   if (day >= 0 && day < days)
                                     day_cards[static_cast<size_t>(day)].Add(o);
                                 });
  if (!read.ok()) return StoreError(read);
  nlohmann::json out = nlohmann::json::array();
  for (ScorecardBuilder& builder : day_cards) {
    const handoff::Scorecard card = builder.Finish();
    out.push_back({{"from", FormatRfc3339(card.from)},
                   {"until", FormatRfc3339(card.until)},
                   {"overall", ScorecardJson(card)["overall"]}});
  }
  return HttpResponse::Json(200, nlohmann::json{{"days", out}}.dump(
                                     -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse TrackingApi::Map(const HttpRequest& request) const {
  auto params = Params(request, {"window"});
  if (auto* e = std::get_if<HttpResponse>(&params)) return *e;
  auto window = Window(std::get<std::map<std::string, std::string>>(params), kMicrosPerDay);
  if (auto* e = std::get_if<HttpResponse>(&window)) return *e;
  MapInputs in;
  in.until = clock_->Now() + 1;
  in.from = in.until - std::get<Micros>(window);
  auto leaks = store_->ListLeaks(config_->workspace, LeakFilter{0, 100000});
  if (!leaks.ok()) return StoreError(leaks.status());
  in.open_leaks = *std::move(leaks);
  auto alerts = store_->ListAlertHandoffs(config_->workspace, in.from, 10000);
  if (!alerts.ok()) return StoreError(alerts.status());
  in.alert_handoffs = *std::move(alerts);
  if (sources_ != nullptr) {
    for (const std::string& name : sources_->Names()) {
      in.adapter_channels[name] = sources_->FindSpec(name)->default_channel;
    }
  }
  const Micros from = in.from, until = in.until;
  ContinuityMapBuilder map(*config_, std::move(in));
  absl::Status read = ScanWindow(*store_, config_->workspace, from, until, outcomes_per_page_,
                                 [&map](const InquiryOutcome& o) { map.Add(o); });
  if (!read.ok()) return StoreError(read);
  return HttpResponse::Json(
      200, map.Finish().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace handoff
