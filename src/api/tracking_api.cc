#include "api/tracking_api.h"

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

// Everything a scorecard of [from, until) reads.
absl::StatusOr<ScoreInputs> ReadScoreInputs(Store& store, const std::string& workspace, Micros from,
                                            Micros until) {
  ScoreInputs in;
  in.from = from;
  in.until = until;
  ASSIGN_OR_RETURN(in.outcomes, store.ListInquiryOutcomes(workspace, from, until));
  ASSIGN_OR_RETURN(in.entry_counts, store.ListEntryCounts(workspace, from));
  LeakFilter filter;
  filter.closed_since = from;
  filter.limit = 100000;
  ASSIGN_OR_RETURN(in.leaks, store.ListLeaks(workspace, filter));
  ASSIGN_OR_RETURN(in.alert_groups, store.ListAlertGroups(workspace, from, 100000));
  return in;
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
  auto in = ReadScoreInputs(*store_, config_->workspace, until - std::get<Micros>(window), until);
  if (!in.ok()) return StoreError(in.status());
  const handoff::Scorecard card = ComputeScorecard(*config_, *in);
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
  auto all = ReadScoreInputs(*store_, config_->workspace, from, until);
  if (!all.ok()) return StoreError(all.status());
  // Entry counts carry only totals since a time: a day's counts are the difference between the
  // totals since its start and since its end, so each day boundary is read once.
  std::vector<std::vector<EntryCount>> since_boundary = {all->entry_counts};
  for (int d = 1; d <= days; ++d) {
    auto counts = store_->ListEntryCounts(config_->workspace, from + d * kMicrosPerDay);
    if (!counts.ok()) return StoreError(counts.status());
    since_boundary.push_back(*std::move(counts));
  }
  nlohmann::json out = nlohmann::json::array();
  for (int d = 0; d < days; ++d) {
    ScoreInputs in;
    in.from = from + d * kMicrosPerDay;
    in.until = in.from + kMicrosPerDay;
    for (const InquiryOutcome& o : all->outcomes) {
      if (o.received_at >= in.from && o.received_at < in.until) in.outcomes.push_back(o);
    }
    for (EntryCount c : since_boundary[d]) {
      for (const EntryCount& later : since_boundary[d + 1]) {
        if (later.source == c.source && later.outcome == c.outcome && later.reason == c.reason) {
          c.count -= later.count;
        }
      }
      if (c.count > 0) in.entry_counts.push_back(c);
    }
    for (const Leak& l : all->leaks) {
      if (l.opened_at < in.until && (l.closed_at == 0 || l.closed_at >= in.from)) {
        in.leaks.push_back(l);
      }
    }
    for (const AlertGroup& g : all->alert_groups) {
      if (g.opened_at < in.until && (g.closed_at == 0 || g.closed_at >= in.from)) {
        in.alert_groups.push_back(g);
      }
    }
    const nlohmann::json card = ScorecardJson(ComputeScorecard(*config_, in));
    out.push_back({{"from", FormatRfc3339(in.from)},
                   {"until", FormatRfc3339(in.until)},
                   {"overall", card["overall"]}});
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
  auto outcomes = store_->ListInquiryOutcomes(config_->workspace, in.from, in.until);
  if (!outcomes.ok()) return StoreError(outcomes.status());
  in.outcomes = *std::move(outcomes);
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
  return HttpResponse::Json(200,
                            ContinuityMapJson(*config_, in)
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace handoff
