#include "api/api_handler.h"

#include <algorithm>
#include <map>
#include <set>
#include <variant>

#include "api/dashboard.h"
#include "api/responses.h"
#include "core/id.h"
#include "core/time_format.h"
#include "entry/common/source_auth.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "model/records.h"
#include "track/metrics.h"
#include "track/timeline.h"
#include "transfer/replay.h"
#include "trigger/task_actions.h"

namespace handoff {
namespace {

// A page size from a query string: 1 to 500.
std::optional<int> ParseLimit(std::string_view v) {
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > 100000) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 500) return std::nullopt;
  return n;
}

// The query of a list endpoint: `state` (one of `states`, or "all"), `limit` (1–500) and, when
// `owners` is given, `owner` (a team member id). Anything else is a 400 naming the parameter.
struct ListQuery {
  std::string state;  // "" for all
  std::string owner;
  int limit = 50;
};

std::variant<ListQuery, HttpResponse> ParseListQuery(const HttpRequest& request,
                                                     const std::vector<std::string>& states,
                                                     const Config* owners) {
  auto params = ParseUrlEncoded(request.query);
  if (!params) {
    return HttpResponse::JsonError(400, "bad_query", "the query string has a malformed escape");
  }
  ListQuery q;
  q.state = states.front();
  std::string names;
  for (const std::string& s : states) names += s + ", ";
  for (const auto& [k, v] : *params) {
    if (k == "state") {
      if (v != "all" && std::find(states.begin(), states.end(), v) == states.end()) {
        return HttpResponse::JsonError(400, "bad_query",
                                       fmt::format("state must be {}or all", names));
      }
      q.state = v == "all" ? "" : v;
    } else if (k == "owner" && owners != nullptr) {
      if (owners->FindMember(v) == nullptr) {
        return HttpResponse::JsonError(400, "bad_query",
                                       fmt::format("owner '{}' is not on the team", v));
      }
      q.owner = v;
    } else if (k == "limit") {
      auto n = ParseLimit(v);
      if (!n) {
        return HttpResponse::JsonError(400, "bad_query", "limit must be a number from 1 to 500");
      }
      q.limit = *n;
    } else {
      return HttpResponse::JsonError(
          400, "bad_query",
          fmt::format("unknown parameter '{}' (state, {}limit)", k, owners ? "owner, " : ""));
    }
  }
  return q;
}

}  // namespace

ApiHandler::ApiHandler(const Config* config, Store* store, const Clock* clock,
                       std::function<absl::Status()> ready,
                       std::function<nlohmann::json()> destinations,
                       const SourceAdapterRegistry* sources)
    : config_(config),
      store_(store),
      clock_(clock),
      ready_(std::move(ready)),
      destinations_(std::move(destinations)),
      sources_(sources),
      sessions_(config, store, clock),
      tracking_(config, store, clock, sources) {}

bool ApiHandler::BearerAuthorized(const HttpRequest& request) const {
  const std::string& want = config_->server.admin_token;
  if (want.empty()) return false;
  auto header = request.Header("authorization");
  if (!header || header->size() < 7 || header->substr(0, 7) != "Bearer ") return false;
  return ConstantTimeEquals(header->substr(7), want);
}

bool ApiHandler::IsFor(const HttpRequest& request) {
  if (BearerAuthorized(request) || sessions_.Find(request)) return true;
  if (request.path != "/api/v1/session" || request.method != "POST") return false;
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) return false;
  if (auto token = body.find("token"); token != body.end() && token->is_string()) {
    const std::string& want = config_->server.admin_token;
    return !want.empty() && ConstantTimeEquals(token->get<std::string>(), want);
  }
  auto workspace = body.find("workspace");
  return workspace != body.end() && workspace->is_string() &&
         workspace->get<std::string>() == config_->workspace;
}

std::optional<HttpResponse> ApiHandler::Refusal(const HttpRequest& request) {
  if (BearerAuthorized(request)) return std::nullopt;
  if (std::optional<Session> session = sessions_.Find(request)) {
    // A cookie rides along on any request the browser makes, a forged one included: whatever
    // changes something must also carry the token only the page's own script can read.
    if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
    auto sent = request.Header("x-csrf-token");
    if (sent && ConstantTimeEquals(*sent, session->csrf_token)) {
      return std::nullopt;
    }
    return HttpResponse::JsonError(403, "csrf",
                                   "send the session's csrf_token in the X-CSRF-Token header");
  }
  HttpResponse r =
      HttpResponse::JsonError(401, "unauthorized",
                              config_->server.admin_token.empty()
                                  ? "the API is disabled: set server.admin_token in the config"
                                  : "send the admin token as 'Authorization: Bearer <token>' "
                                    "or sign in to the dashboard");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

HttpResponse ApiHandler::SessionEndpoint(const HttpRequest& request) {
  if (request.method == "POST") return sessions_.SignIn(request);
  if (request.method == "GET") {
    std::optional<Session> session = sessions_.Find(request);
    if (!session) return HttpResponse::JsonError(401, "unauthorized", "not signed in");
    HttpResponse r = HttpResponse::Json(200, sessions_.Describe(*session));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (request.method == "DELETE") {
    if (auto refused = Refusal(request)) return *refused;
    return sessions_.SignOut(request);
  }
  return HttpResponse::JsonError(405, "method_not_allowed",
                                 "this endpoint accepts POST, GET and DELETE");
}

HttpResponse ApiHandler::ListHandoffs(const HttpRequest& request) {
  auto parsed = ParseListQuery(request, {"dead", "failed", "pending", "delivering"}, nullptr);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ListQuery& q = std::get<ListQuery>(parsed);
  if (q.state.empty()) return HttpResponse::JsonError(400, "bad_query", "name one state");
  auto handoffs = store_->ListHandoffsInState(config_->workspace, q.state, q.limit);
  if (!handoffs.ok()) return StoreError(handoffs.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Handoff& h : *handoffs) out.push_back(ToJson(h));
  return HttpResponse::Json(200, nlohmann::json{{"handoffs", out}}.dump(
                                     -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ApiHandler::Handle(HttpRequest&& request, HttpResponder respond) {
  const std::string& path = request.path;
  if (path == "/healthz") {
    respond(HttpResponse::Json(200, R"({"status":"ok"})"));
    return;
  }
  if (path == "/readyz") {
    respond(Ready());
    return;
  }
  if (IsDashboardPath(path)) {
    respond(ServeDashboard(request));
    return;
  }
  if (path == "/api/v1/session") {
    respond(SessionEndpoint(request));
    return;
  }
  if (auto refused = Refusal(request)) {
    respond(*std::move(refused));
    return;
  }
  if (path == "/api/v1/scorecard" || path == "/api/v1/scorecard/trend" || path == "/api/v1/map" ||
      path == "/api/v1/handoffs" || path == "/api/v1/inquiries.csv") {
    if (request.method != "GET") {
      respond(HttpResponse::JsonError(405, "method_not_allowed", "this endpoint accepts GET"));
    } else if (path == "/api/v1/scorecard") {
      respond(tracking_.Scorecard(request));
    } else if (path == "/api/v1/scorecard/trend") {
      respond(tracking_.ScorecardTrend(request));
    } else if (path == "/api/v1/map") {
      respond(tracking_.Map(request));
    } else if (path == "/api/v1/handoffs") {
      respond(ListHandoffs(request));
    } else {
      respond(ExportInquiries(request));
    }
    return;
  }
  if (path == "/metrics" && metrics_ != nullptr) {
    respond(MetricsText());
    return;
  }
  if (path == "/api/v1/handoffs/replay") {
    if (request.method != "POST") {
      respond(HttpResponse::JsonError(405, "method_not_allowed", "this endpoint accepts POST"));
      return;
    }
    ReplayHandoffs(request, std::move(respond));
    return;
  }
  constexpr std::string_view kInbox = "/api/v1/inbox/";
  if (path.rfind(kInbox, 0) == 0 && path.size() > kInbox.size() + 5 &&
      path.substr(path.size() - 5) == "/done") {
    if (request.method != "POST") {
      respond(HttpResponse::JsonError(405, "method_not_allowed", "this endpoint accepts POST"));
      return;
    }
    MarkInboxItem(path.substr(kInbox.size(), path.size() - kInbox.size() - 5), std::move(respond));
    return;
  }
  constexpr std::string_view kTasks = "/api/v1/tasks/";
  if (path.rfind(kTasks, 0) == 0) {
    const std::string rest = path.substr(kTasks.size());
    const size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      const std::string action = rest.substr(slash + 1);
      if (action != "ack" && action != "done") {
        respond(HttpResponse::JsonError(404, "not_found", "no such API endpoint"));
        return;
      }
      if (request.method != "POST") {
        respond(HttpResponse::JsonError(405, "method_not_allowed", "this endpoint accepts POST"));
        return;
      }
      ChangeTask(rest.substr(0, slash), action == "ack" ? TaskStep::kAcknowledge : TaskStep::kDone,
                 request, std::move(respond));
      return;
    }
  }
  if (request.method != "GET") {
    respond(HttpResponse::JsonError(405, "method_not_allowed", "this endpoint accepts GET"));
    return;
  }
  if (path == "/api/v1/tasks") {
    respond(ListTasks(request));
    return;
  }
  if (path.rfind(kTasks, 0) == 0) {
    respond(ShowTask(path.substr(kTasks.size())));
    return;
  }
  if (path == "/api/v1/inbox") {
    respond(ListInbox(request));
    return;
  }
  if (path == "/api/v1/leaks") {
    respond(ListLeaks(request));
    return;
  }
  constexpr std::string_view kInquiries = "/api/v1/inquiries";
  if (path == kInquiries || path == std::string(kInquiries) + "/") {
    respond(ListInquiries(request));
    return;
  }
  if (path.rfind(std::string(kInquiries) + "/", 0) == 0) {
    respond(ShowInquiry(path.substr(kInquiries.size() + 1)));
    return;
  }
  if (path == "/api/v1/sources") {
    respond(ListSources());
    return;
  }
  respond(HttpResponse::JsonError(404, "not_found", "no such API endpoint"));
}

void ApiHandler::ReplayHandoffs(const HttpRequest& request, HttpResponder respond) {
  nlohmann::json body = request.body.empty() ? nlohmann::json::object()
                                             : nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    respond(HttpResponse::JsonError(400, "malformed_body", "the body must be a JSON object"));
    return;
  }
  HandoffReplayFilter filter;
  for (const auto& [key, value] : body.items()) {
    auto text = [&](std::string& out) {
      if (!value.is_string()) return false;
      out = value.get<std::string>();
      return true;
    };
    auto time = [&](Micros& out) {
      std::string s;
      if (!text(s)) return false;
      auto t = ParseRfc3339(s);
      if (!t.ok()) return false;
      out = *t;
      return true;
    };
    bool ok = false;
    if (key == "handoff_id") {
      ok = text(filter.handoff_id);
    } else if (key == "destination") {
      ok = text(filter.destination);
    } else if (key == "from") {
      ok = time(filter.created_from);
    } else if (key == "until") {
      ok = time(filter.created_until);
    } else if (key == "after") {
      ok = text(filter.after_id);
    } else if (key == "limit") {
      ok = value.is_number_integer() && value.get<int64_t>() >= 1 && value.get<int64_t>() <= 1000;
      if (ok) filter.limit = value.get<int>();
    } else {
      respond(HttpResponse::JsonError(
          400, "unknown_field",
          fmt::format("unknown field '{}'; use handoff_id, destination, from, until, after, limit",
                      key.substr(0, 64))));
      return;
    }
    if (!ok) {
      respond(
          HttpResponse::JsonError(400, "invalid_field",
                                  fmt::format("'{}' must be {}", key,
                                              key == "limit" ? "a whole number from 1 to 1000"
                                              : key == "from" || key == "until" ? "an RFC 3339 time"
                                                                                : "a string")));
      return;
    }
  }
  if (filter.handoff_id.empty() && filter.destination.empty() && filter.created_from == 0 &&
      filter.created_until == 0) {
    // Replaying every dead handoff at once is rarely what an operator meant.
    respond(HttpResponse::JsonError(
        400, "missing_field", "name a handoff_id, a destination or a time range (from/until)"));
    return;
  }
  auto replayed = std::make_shared<std::vector<Handoff>>();
  const int limit = filter.limit;
  store_->SubmitWrite(
      ReplayBatchWrite(config_->workspace, std::move(filter), clock_->Now(), replayed),
      [replayed, limit, respond](absl::Status s) {
        if (!s.ok()) {
          respond(HttpResponse::JsonError(503, "unavailable",
                                          "the replay could not be stored; nothing was replayed"));
          return;
        }
        nlohmann::json out = {{"replayed", replayed->size()},
                              {"done", static_cast<int>(replayed->size()) < limit},
                              {"handoffs", nlohmann::json::array()}};
        for (const Handoff& h : *replayed) {
          out["handoffs"].push_back({{"id", h.id},
                                     {"inquiry_id", h.inquiry_id},
                                     {"destination", h.destination},
                                     {"previous_attempts", h.attempts},
                                     {"previous_error", h.last_error}});
        }
        out["next_after"] =
            replayed->empty() ? nlohmann::json(nullptr) : nlohmann::json(replayed->back().id);
        respond(HttpResponse::Json(200, out.dump()));
      });
}

HttpResponse ApiHandler::Ready() {
  absl::Status ready = ready_ ? ready_() : absl::OkStatus();
  nlohmann::json body = {{"status", ready.ok() ? "ready" : "not_ready"}};
  if (!ready.ok()) body["reason"] = std::string(ready.message());
  auto depths = store_->QueueDepths();
  if (depths.ok()) {
    nlohmann::json q = nlohmann::json::object();
    for (const auto& [name, n] : *depths) q[name] = n;
    body["queues"] = q;
  }
  // A destination whose breaker is open does not make the process unready (everything else
  // still flows), but it is shown here so monitoring can alert on it.
  if (destinations_) body["destinations"] = destinations_();
  // Likewise a failing alert channel: it is how people learn of leaks, so it is shown here.
  body["alert_channels"] = AlertChannels();
  if (node_status_) body["node"] = node_status_();
  return HttpResponse::Json(ready.ok() ? 200 : 503, body.dump());
}

nlohmann::json ApiHandler::AlertChannels() {
  nlohmann::json out = nlohmann::json::object();
  for (const NotifyTarget& t : config_->alerts.via) out[t.via] = {{"state", "idle"}};
  if (config_->alerts.via.empty()) return out;
  auto alerts = store_->ListAlertHandoffs(config_->workspace, clock_->Now() - kMicrosPerDay, 200);
  if (!alerts.ok()) return out;
  std::set<std::string> seen;
  for (const Handoff& h : *alerts) {  // newest first: the first per destination decides
    if (!out.contains(h.destination) || !seen.insert(h.destination).second) continue;
    const bool failing = h.state == "dead" || (h.state == "failed" && h.attempts > 0);
    nlohmann::json c = {{"state", failing                  ? "failing"
                                  : h.state == "confirmed" ? "ok"
                                                           : "sending"},
                        {"last_alert_at", FormatRfc3339(h.created_at)}};
    if (!h.last_error.empty()) c["last_error"] = h.last_error;
    out[h.destination] = std::move(c);
  }
  return out;
}

HttpResponse ApiHandler::MetricsText() {
  std::vector<GaugeSample> gauges;
  const std::string& ws = config_->workspace;
  if (auto depths = store_->QueueDepths(); depths.ok()) {
    for (const auto& [name, n] : *depths) {
      gauges.push_back({"queue_depth",
                        "Work items waiting per stage, and handoffs per state",
                        {{"queue", name}},
                        static_cast<double>(n)});
    }
  }
  if (auto counts = store_->CountUnsettledHandoffs(ws); counts.ok()) {
    for (const HandoffCount& c : *counts) {
      gauges.push_back(
          {"handoffs_unsettled",
           "Handoffs not confirmed, per destination, purpose and state",
           {{"destination", c.destination}, {"purpose", c.purpose}, {"state", c.state}},
           static_cast<double>(c.count)});
    }
  }
  if (auto leaks = store_->ListLeaks(ws, LeakFilter{0, 100000}); leaks.ok()) {
    std::map<std::string, int> by_kind;
    for (const char* kind : {"unassigned", "overdue_task", "missed_call", "unconfirmed_handoff",
                             "dead_handoff", "silent_source"}) {
      by_kind[kind] = 0;
    }
    for (const Leak& l : *leaks) ++by_kind[l.kind];
    for (const auto& [kind, n] : by_kind) {
      gauges.push_back({"leaks_open", "Leaks open now, per kind", {{"kind", kind}}, double(n)});
    }
  }
  if (destinations_) {
    const nlohmann::json health = destinations_();
    for (const auto& [name, h] : health.items()) {
      gauges.push_back({"destination_breaker_open",
                        "1 while the destination's circuit breaker is open or half-open",
                        {{"destination", name}},
                        h.value("breaker", "closed") == "closed" ? 0.0 : 1.0});
      gauges.push_back({"destination_in_flight",
                        "Delivery requests in flight per destination",
                        {{"destination", name}},
                        static_cast<double>(h.value("in_flight", 0))});
    }
  }
  const nlohmann::json channels = AlertChannels();
  for (const auto& [name, c] : channels.items()) {
    gauges.push_back({"alert_channel_failing",
                      "1 while an alert channel's newest alert fails",
                      {{"destination", name}},
                      c.value("state", "") == "failing" ? 1.0 : 0.0});
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_->Render(gauges);
  return r;
}

HttpResponse ApiHandler::ListLeaks(const HttpRequest& request) {
  auto parsed = ParseListQuery(request, {"open", "closed"}, nullptr);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ListQuery& q = std::get<ListQuery>(parsed);
  const Micros since = q.state == "open" ? 0 : clock_->Now() - 7 * kMicrosPerDay;
  LeakFilter filter;
  filter.closed_since = since;
  filter.limit = q.state == "closed" ? 500 : q.limit;
  auto leaks = store_->ListLeaks(config_->workspace, filter);
  if (!leaks.ok()) return StoreError(leaks.status());
  auto groups = store_->ListAlertGroups(config_->workspace, since, 100);
  if (!groups.ok()) return StoreError(groups.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Leak& l : *leaks) {
    if (q.state == "closed" && l.closed_at == 0) continue;
    if (static_cast<int>(out.size()) >= q.limit) break;
    out.push_back(ToJson(l));
  }
  nlohmann::json g = nlohmann::json::array();
  for (const AlertGroup& group : *groups) {
    if (q.state == "closed" && group.closed_at == 0) continue;
    if (q.state == "open" && group.closed_at != 0) continue;
    g.push_back(ToJson(group));
  }
  // The channels that carry the alerts, with their state: a failing one is a leak of its own.
  return HttpResponse::Json(
      200, nlohmann::json{{"leaks", out}, {"groups", g}, {"alert_channels", AlertChannels()}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse ApiHandler::ListInbox(const HttpRequest& request) {
  auto parsed = ParseListQuery(request, {"open", "done"}, nullptr);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ListQuery& q = std::get<ListQuery>(parsed);
  auto items = store_->ListInbox(config_->workspace, q.state, q.limit);
  if (!items.ok()) return StoreError(items.status());
  std::vector<std::string> about;
  for (const InboxItem& item : *items) about.push_back(item.inquiry_id);
  auto contexts = ReadListed(about);
  if (!contexts.ok()) return StoreError(contexts.status());
  nlohmann::json out = nlohmann::json::array();
  for (const InboxItem& item : *items) {
    nlohmann::json j = ToJson(item);
    // The record is the inquiry as handoff keeps it: who, what they said, and the next step.
    auto it = contexts->find(InquiryRef{config_->workspace, item.inquiry_id});
    if (it != contexts->end()) {
      j["inquiry"] = ToJson(it->second.inquiry, /*include_raw=*/false);
      if (it->second.task) j["task"] = ToJson(*it->second.task);
    }
    out.push_back(std::move(j));
  }
  return HttpResponse::Json(200, nlohmann::json{{"items", out}}.dump());
}

void ApiHandler::MarkInboxItem(const std::string& id, HttpResponder respond) {
  if (!IsUuid(id)) {
    respond(HttpResponse::JsonError(404, "not_found", "no such inbox item"));
    return;
  }
  const Micros now = clock_->Now();
  store_->SubmitWrite(
      [workspace = config_->workspace, id, now](WriteTx& tx) {
        return tx.SetInboxItemState(workspace, id, "done", now);
      },
      [respond = std::move(respond), id](absl::Status status) {
        if (absl::IsNotFound(status)) {
          respond(HttpResponse::JsonError(404, "not_found", "no such inbox item"));
        } else if (!status.ok()) {
          respond(HttpResponse::JsonError(503, "store_unavailable",
                                          "the record could not be updated; try again"));
        } else {
          respond(HttpResponse::Json(200, nlohmann::json{{"id", id}, {"state", "done"}}.dump()));
        }
      });
}

HttpResponse ApiHandler::ListTasks(const HttpRequest& request) {
  auto parsed = ParseListQuery(
      request, std::vector<std::string>(kTaskStates.begin(), kTaskStates.end()), config_);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ListQuery& q = std::get<ListQuery>(parsed);
  auto tasks = store_->ListTasksBy(config_->workspace, q.state, q.owner, q.limit);
  if (!tasks.ok()) return StoreError(tasks.status());
  std::vector<std::string> about;
  for (const Task& t : *tasks) about.push_back(t.inquiry_id);
  auto contexts = ReadListed(about);
  if (!contexts.ok()) return StoreError(contexts.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Task& t : *tasks) {
    nlohmann::json j = ToJson(t);
    // Enough to act on from a list: who it is and what they said.
    auto it = contexts->find(InquiryRef{config_->workspace, t.inquiry_id});
    if (it != contexts->end()) {
      const Inquiry& inquiry = it->second.inquiry;
      j["inquiry"] = {
          {"source", inquiry.source},          {"channel", ChannelName(inquiry.channel)},
          {"name", inquiry.normalized.name},   {"phone", inquiry.normalized.phone},
          {"email", inquiry.normalized.email}, {"message", inquiry.message}};
    }
    out.push_back(std::move(j));
  }
  return HttpResponse::Json(200, nlohmann::json{{"tasks", out}}.dump());
}

absl::StatusOr<std::map<InquiryRef, InquiryContext>> ApiHandler::ReadListed(
    const std::vector<std::string>& inquiry_ids) {
  if (inquiry_ids.empty()) return std::map<InquiryRef, InquiryContext>();
  std::vector<InquiryRef> refs;
  for (const std::string& id : inquiry_ids) refs.push_back(InquiryRef{config_->workspace, id});
  return store_->ReadInquiryContexts(refs);
}

HttpResponse ApiHandler::ShowTask(const std::string& id) {
  if (!IsUuid(id)) return HttpResponse::JsonError(404, "not_found", "no such task");
  auto task = store_->GetTask(config_->workspace, id);
  if (absl::IsNotFound(task.status())) {
    return HttpResponse::JsonError(404, "not_found", "no such task");
  }
  if (!task.ok()) return StoreError(task.status());
  return HttpResponse::Json(200, ToJson(*task).dump());
}

void ApiHandler::ChangeTask(const std::string& id, TaskStep step, const HttpRequest& request,
                            HttpResponder respond) {
  if (!IsUuid(id)) {
    respond(HttpResponse::JsonError(404, "not_found", "no such task"));
    return;
  }
  // The CLI says it is the CLI; anything else through the API is the API.
  std::string via = "api";
  if (auto client = request.Header("x-handoff-client"); client && *client == "cli") via = "cli";
  auto change = std::make_shared<TaskChange>();
  store_->SubmitWrite(
      ChangeTaskState(config_->workspace, id, step, via, clock_->Now(), change),
      [respond = std::move(respond), change](absl::Status status) {
        if (absl::IsNotFound(status)) {
          respond(HttpResponse::JsonError(404, "not_found", "no such task"));
        } else if (!status.ok()) {
          respond(HttpResponse::JsonError(503, "store_unavailable",
                                          "the task could not be updated; try again"));
        } else {
          respond(HttpResponse::Json(
              200,
              nlohmann::json{{"task", ToJson(change->task)}, {"changed", change->changed}}.dump()));
        }
      });
}

namespace {

// The filters of GET /api/v1/inquiries (and its CSV export), or the 400 naming the problem.
std::variant<InquiryFilter, HttpResponse> ParseInquiryFilter(const HttpRequest& request) {
  auto params = ParseUrlEncoded(request.query);
  if (!params) {
    return HttpResponse::JsonError(400, "bad_query", "the query string has a malformed escape");
  }
  InquiryFilter f;
  for (const auto& [k, v] : *params) {
    if (k == "source") {
      f.source = v;
    } else if (k == "channel") {
      if (!ParseChannel(v)) {
        return HttpResponse::JsonError(400, "bad_query",
                                       "channel must be form, call, chat, booking, sms, email "
                                       "or other");
      }
      f.channel = v;
    } else if (k == "stage") {
      if (!ParseStage(v)) {
        return HttpResponse::JsonError(400, "bad_query",
                                       "stage must be entry, enrich, trigger, transfer or track");
      }
      f.stage = v;
    } else if (k == "status") {
      f.status = v;
    } else if (k == "route") {
      if (v.size() > 200) {
        return HttpResponse::JsonError(400, "bad_query", "route must be at most 200 characters");
      }
      f.route = v;
    } else if (k == "from" || k == "until") {
      auto t = ParseRfc3339(v);
      if (!t.ok()) {
        return HttpResponse::JsonError(400, "bad_query",
                                       fmt::format("{}: {}", k, std::string(t.status().message())));
      }
      (k == "from" ? f.received_from : f.received_until) = *t;
    } else if (k == "limit") {
      auto n = ParseLimit(v);
      if (!n) {
        return HttpResponse::JsonError(400, "bad_query", "limit must be a number from 1 to 500");
      }
      f.limit = *n;
    } else if (k == "before") {
      if (!IsUuid(v)) {
        return HttpResponse::JsonError(400, "bad_query", "before must be an inquiry id");
      }
      f.before_id = v;
    } else if (k == "q") {
      if (v.size() > 200) {
        return HttpResponse::JsonError(400, "bad_query", "q must be at most 200 characters");
      }
      f.text = v;
    } else {
      return HttpResponse::JsonError(
          400, "bad_query",
          fmt::format("unknown parameter '{}' (expected source, channel, stage, status, route, q, "
                      "from, until, limit, before)",
                      k.substr(0, 40)));
    }
  }
  return f;
}

// One CSV cell (RFC 4180), neutralised for spreadsheets: a value a spreadsheet would run as a
// formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe.
std::string CsvCell(std::string_view value) {
  std::string v(value);
  if (!v.empty() &&
      (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) {
    v.insert(v.begin(), '\'');
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string quoted = "\"";
  for (char c : v) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

HttpResponse ApiHandler::ExportInquiries(const HttpRequest& request) {
  auto parsed = ParseInquiryFilter(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  InquiryFilter f = std::get<InquiryFilter>(parsed);
  constexpr int kMaxRows = 10000;
  std::string csv =
      "id,received_at,source,channel,stage,status,route,name,email,phone,service,location,"
      "message\r\n";
  int rows = 0;
  f.limit = 500;
  while (rows < kMaxRows) {
    auto page = store_->ListInquiries(config_->workspace, f);
    if (!page.ok()) return StoreError(page.status());
    for (const Inquiry& n : *page) {
      auto pick = [](const std::string& a, const std::string& b) { return a.empty() ? b : a; };
      const std::string cells[] = {n.id,
                                   FormatRfc3339(n.received_at),
                                   n.source,
                                   std::string(ChannelName(n.channel)),
                                   std::string(StageName(n.stage)),
                                   n.status,
                                   n.route,
                                   pick(n.normalized.name, n.received.name),
                                   pick(n.normalized.email, n.received.email),
                                   pick(n.normalized.phone, n.received.phone),
                                   n.service,
                                   n.location,
                                   n.message};
      for (size_t c = 0; c < std::size(cells); ++c) {
        csv += (c ? "," : "") + CsvCell(cells[c]);
      }
      csv += "\r\n";
      ++rows;
    }
    if (static_cast<int>(page->size()) < f.limit) break;
    f.before_id = page->back().id;
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"inquiries.csv\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(csv);
  return r;
}

HttpResponse ApiHandler::ListInquiries(const HttpRequest& request) {
  auto parsed = ParseInquiryFilter(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const InquiryFilter& f = std::get<InquiryFilter>(parsed);
  auto list = store_->ListInquiries(config_->workspace, f);
  if (!list.ok()) return StoreError(list.status());
  nlohmann::json items = nlohmann::json::array();
  for (const Inquiry& i : *list) items.push_back(ToJson(i, false));
  nlohmann::json body = {{"inquiries", std::move(items)}, {"next", nullptr}};
  if (static_cast<int>(list->size()) == f.limit) body["next"] = list->back().id;
  return HttpResponse::Json(200,
                            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

namespace {

// The entry counters of one source over a window: each outcome the ingress counts, rejections
// by reason, and the start of the newest minute with an accepted inquiry.
nlohmann::json Tally(const std::vector<EntryCount>& counts, const std::string& source) {
  // Outcome as counted → key in the answer.
  static const std::pair<const char*, const char*> kOutcomes[] = {
      {"accepted", "accepted"}, {"duplicate", "duplicates"},
      {"updated", "updated"},   {"ignored", "ignored"},
      {"spam", "spam"},         {"handshake", "handshakes"},
      {"rejected", "rejected"}};
  nlohmann::json t = nlohmann::json::object();
  for (const auto& [outcome, key] : kOutcomes) t[key] = 0;
  t["rejected_by_reason"] = nlohmann::json::object();
  Micros last_accepted = 0;
  for (const EntryCount& c : counts) {
    if (c.source != source) continue;
    for (const auto& [outcome, key] : kOutcomes) {
      if (c.outcome == outcome) t[key] = t[key].get<int64_t>() + c.count;
    }
    if (c.outcome == "accepted") last_accepted = std::max(last_accepted, c.last_at);
    if (c.outcome == "rejected") {
      t["rejected_by_reason"][c.reason] =
          t["rejected_by_reason"].value(c.reason, int64_t{0}) + c.count;
    }
  }
  t["last_accepted_minute"] =
      last_accepted ? nlohmann::json(FormatRfc3339(last_accepted)) : nlohmann::json(nullptr);
  return t;
}

// What the source's config makes the adapter check: "token", "hmac-sha256",
// "token+hmac-sha256" or "none". Never a secret; `tokens` and `signature_secrets` count them.
nlohmann::json Verification(const SourceConfig& s, const SourceAdapterSpec* spec) {
  const bool token = !s.auth.tokens.empty(), hmac = !s.auth.hmac_secrets.empty();
  nlohmann::json v = {
      {"method", token && hmac ? "token+hmac-sha256"
                 : hmac        ? "hmac-sha256"
                 : token       ? "token"
                               : "none"},
      {"tokens", s.auth.tokens.size()},
      {"signature_secrets", s.auth.hmac_secrets.size()},
      {"adapter_checks", spec ? nlohmann::json(spec->trust_note) : nlohmann::json(nullptr)},
  };
  if (token) {
    v["token_in"] = nlohmann::json::array();
    if (spec != nullptr && spec->path_key) v["token_in"].push_back("path");
    v["token_in"].push_back("header " + s.auth.token_header);
    v["token_in"].push_back("Authorization: Bearer");
    if (!s.auth.token_query.empty()) v["token_in"].push_back("query " + s.auth.token_query);
  }
  if (hmac) v["signature_header"] = s.auth.hmac_header;
  if (!token && !hmac) {
    v["warning"] = "no token or signature: anyone who finds the URL can post inquiries";
  }
  return v;
}

}  // namespace

HttpResponse ApiHandler::ListSources() {
  Micros now = clock_->Now();
  auto day = store_->ListEntryCounts(config_->workspace, now - kMicrosPerDay);
  auto hour = store_->ListEntryCounts(config_->workspace, now - kMicrosPerHour);
  if (!day.ok()) return StoreError(day.status());
  if (!hour.ok()) return StoreError(hour.status());
  const std::string& base = config_->business.public_url;
  nlohmann::json sources = nlohmann::json::array();
  for (const SourceConfig& s : config_->sources) {
    const SourceAdapterSpec* spec = sources_ ? sources_->FindSpec(s.adapter) : nullptr;
    // Adapters that read their key from the path get it as the URL's last segment; the key
    // itself is never shown.
    const std::string key = spec != nullptr && spec->path_key && !s.auth.tokens.empty()
                                ? std::string("/{token}")
                                : std::string();
    InquiryFilter newest;
    newest.source = s.name;
    newest.limit = 1;
    auto last = store_->ListInquiries(config_->workspace, newest);
    if (!last.ok()) return StoreError(last.status());
    std::string channel = s.channel;
    if (channel.empty() && spec != nullptr) channel = ChannelName(spec->default_channel);
    const nlohmann::json verification = Verification(s, spec);
    sources.push_back(
        {{"name", s.name},
         {"adapter", s.adapter},
         {"channel", channel},
         {"webhook_url", base + "/in/" + s.name + key},
         {"webhook_url_with_workspace", base + "/in/" + config_->workspace + "/" + s.name + key},
         {"methods", spec ? nlohmann::json(spec->methods) : nlohmann::json({"POST"})},
         {"verification", verification["method"]},
         {"verification_detail", verification},
         {"last_accepted_at", last->empty()
                                  ? nlohmann::json(nullptr)
                                  : nlohmann::json(FormatRfc3339(last->front().received_at))},
         {"last_hour", Tally(*hour, s.name)},
         {"last_day", Tally(*day, s.name)}});
  }
  return HttpResponse::Json(
      200, nlohmann::json{{"public_url", base}, {"sources", std::move(sources)}}.dump());
}

HttpResponse ApiHandler::ShowInquiry(const std::string& id) {
  if (!IsUuid(id)) return HttpResponse::JsonError(404, "not_found", "no such inquiry");
  const std::string& ws = config_->workspace;
  auto inquiry = store_->GetInquiry(ws, id);
  if (absl::IsNotFound(inquiry.status())) {
    return HttpResponse::JsonError(404, "not_found", "no such inquiry");
  }
  if (!inquiry.ok()) return StoreError(inquiry.status());
  auto events = store_->ListEvents(ws, id);
  auto tasks = store_->ListTasks(ws, id);
  auto handoffs = store_->ListHandoffs(ws, id);
  if (!events.ok()) return StoreError(events.status());
  if (!tasks.ok()) return StoreError(tasks.status());
  if (!handoffs.ok()) return StoreError(handoffs.status());
  nlohmann::json body = {{"inquiry", ToJson(*inquiry, true)}, {"contact", nullptr}};
  if (!inquiry->contact_id.empty()) {
    auto contact = store_->GetContact(ws, inquiry->contact_id);
    if (contact.ok()) body["contact"] = ToJson(*contact);
  }
  body["tasks"] = nlohmann::json::array();
  for (const Task& t : *tasks) body["tasks"].push_back(ToJson(t));
  body["handoffs"] = nlohmann::json::array();
  for (const Handoff& h : *handoffs) body["handoffs"].push_back(ToJson(h));
  body["timeline"] = TimelineJson(*inquiry, *events);
  // The raw payload may be arbitrary bytes; dump() with replacement keeps the JSON valid.
  return HttpResponse::Json(200,
                            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace handoff
