#include "transfer/connectors/pipedrive/pipedrive_connector.h"

#include <string_view>

#include "core/time_format.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "transfer/connectors/crm_common/crm_request.h"
#include "transfer/delivery_summary.h"

namespace handoff {
namespace {

constexpr const char* kPipedriveBaseUrl = "https://api.pipedrive.com/v1";
// Pipedrive stores notes as HTML; a bound keeps a runaway message from being refused whole.
constexpr size_t kMaxNoteBytes = 65536;
// Captured when a search found nobody: the attempt it ran in (see NextCall).
constexpr const char* kSearchedKey = "person_searched";

enum class PipedriveCall { kSearch, kPerson, kLead, kDeal, kActivity };

bool CreatesDeal(const DestinationConfig& destination) {
  return OptionalSetting(destination, "create", "lead") == "deal";
}

// ctx.handoff.attempts counts the attempts finished before this one, so it is the same for
// every step of one attempt and differs in the next.
std::string AttemptMark(const DeliveryContext& ctx) { return std::to_string(ctx.handoff.attempts); }

// The call this attempt makes: the first record not yet captured (see the class comment).
PipedriveCall NextCall(const DeliveryContext& ctx) {
  const DeliveryProgress& p = ctx.progress;
  if (p.Get("person_id").empty()) {
    const CrmPerson person = PersonOf(ctx);
    bool searchable = !person.email.empty() || !person.phone.empty();
    // A search from an earlier attempt is repeated: that attempt may have created the person
    // and lost the answer (a timeout), and a fresh search finds it instead of a duplicate.
    bool searched = p.Get(kSearchedKey) == AttemptMark(ctx);
    return searchable && !searched ? PipedriveCall::kSearch : PipedriveCall::kPerson;
  }
  if (p.Get("lead_id").empty() && p.Get("deal_id").empty()) {
    return CreatesDeal(ctx.destination) ? PipedriveCall::kDeal : PipedriveCall::kLead;
  }
  return PipedriveCall::kActivity;
}

std::string_view PipedriveCallName(PipedriveCall call) {
  switch (call) {
    case PipedriveCall::kSearch:
      return "person_search";
    case PipedriveCall::kPerson:
      return "person";
    case PipedriveCall::kLead:
      return "lead";
    case PipedriveCall::kDeal:
      return "deal";
    case PipedriveCall::kActivity:
      return "activity";
  }
  return "";
}

// The Pipedrive user who owns the next step, when the team member is mapped.
std::optional<int64_t> OwnerUserId(const DeliveryContext& ctx) {
  return ParseInt64(MappedSetting(ctx.destination, "owner_ids", OwnerMemberId(ctx)));
}

nlohmann::json ContactList(const std::string& value, const char* label) {
  return nlohmann::json::array({{{"value", value}, {"primary", true}, {"label", label}}});
}

// The id in a successful answer: data.id for creations, data.items[0].item.id for a search.
std::string IdFrom(const nlohmann::json& j, PipedriveCall call) {
  if (!j.is_object() || !j.contains("data") || !j["data"].is_object()) return "";
  const nlohmann::json& data = j["data"];
  if (call != PipedriveCall::kSearch) return data.contains("id") ? IdText(data["id"]) : "";
  auto items = data.find("items");
  if (items == data.end() || !items->is_array()) return "";
  for (const auto& entry : *items) {
    if (entry.is_object() && entry.contains("item") && entry["item"].is_object() &&
        entry["item"].contains("id")) {
      return IdText(entry["item"]["id"]);
    }
  }
  return "";
}

std::optional<Micros> RateLimitWait(const std::vector<std::pair<std::string, std::string>>& headers,
                                    Micros now) {
  // x-ratelimit-reset counts seconds until the window resets; older answers send Retry-After.
  if (auto reset = FindHeader(headers, "x-ratelimit-reset")) {
    if (auto seconds = ParseInt64(*reset); seconds && *seconds >= 0 && *seconds <= 86400) {
      return *seconds * kMicrosPerSecond;
    }
  }
  if (auto value = FindHeader(headers, "retry-after")) return ParseRetryAfter(*value, now);
  return std::nullopt;
}

}  // namespace

absl::StatusOr<OutboundRequest> PipedriveConnector::BuildRequest(const DeliveryContext& ctx) const {
  // An OAuth2 token is valid on its company's domain (the token response's api_domain), unless
  // base_url says otherwise.
  std::string fallback(kPipedriveBaseUrl);
  if (ctx.access_token && !ctx.access_token->instance_url.empty()) {
    fallback = ctx.access_token->instance_url;
    while (!fallback.empty() && fallback.back() == '/') fallback.pop_back();
    fallback += "/api/v1";
  }
  auto base = BaseUrlSetting(ctx.destination, fallback);
  if (!base.ok()) return base.status();
  OutboundRequest req;
  // OAuth2 tokens go in the header; a personal api_token can only go in the query.
  std::string api_token;
  if (ctx.access_token && !ctx.access_token->token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + ctx.access_token->token);
  } else {
    auto token = AuthToken(ctx, "api_token");
    if (!token.ok()) return token.status();
    api_token = *token;
  }
  auto url = [&](std::string path_and_query) {
    if (api_token.empty()) return *base + path_and_query;
    char sep = path_and_query.find('?') == std::string::npos ? '?' : '&';
    return fmt::format("{}{}{}api_token={}", *base, path_and_query, sep, PercentEncode(api_token));
  };

  const PipedriveCall call = NextCall(ctx);
  req.step_name = std::string(PipedriveCallName(call));
  const CrmPerson person = PersonOf(ctx);
  const DeliverySummary summary = Summarize(ctx);
  const std::optional<int64_t> owner = OwnerUserId(ctx);
  std::optional<int64_t> person_id;
  if (call == PipedriveCall::kLead || call == PipedriveCall::kDeal ||
      call == PipedriveCall::kActivity) {
    person_id = ParseInt64(ctx.progress.Get("person_id"));
    if (!person_id) return absl::FailedPreconditionError("the captured person_id is not a number");
  }
  nlohmann::json body;
  switch (call) {
    case PipedriveCall::kSearch: {
      bool by_email = !person.email.empty();
      req.method = "GET";
      req.url = url(fmt::format("/persons/search?term={}&fields={}&exact_matching=true",
                                PercentEncode(by_email ? person.email : person.phone),
                                by_email ? "email" : "phone"));
      return req;
    }
    case PipedriveCall::kPerson: {
      std::string name = person.name;
      if (name.empty()) name = !person.phone.empty() ? person.phone : person.email;
      if (name.empty()) name = "Unknown";
      body = {{"name", name}};
      if (!person.email.empty()) body["email"] = ContactList(person.email, "work");
      if (!person.phone.empty()) body["phone"] = ContactList(person.phone, "mobile");
      if (owner) body["owner_id"] = *owner;
      req.url = url("/persons");
      break;
    }
    case PipedriveCall::kLead:
      body = {{"title", summary.title}, {"person_id", *person_id}};
      if (owner) body["owner_id"] = *owner;
      req.url = url("/leads");
      break;
    case PipedriveCall::kDeal:
      body = {{"title", summary.title}, {"person_id", *person_id}};
      if (owner) body["user_id"] = *owner;
      req.url = url("/deals");
      break;
    case PipedriveCall::kActivity: {
      body = {
          {"subject", ctx.task ? ctx.task->title : summary.title},
          {"type", OptionalSetting(ctx.destination, "activity_type", "call")},
          {"person_id", *person_id},
          {"note", Truncate(SummaryHtml(summary), kMaxNoteBytes)},
          {"done", 0},
      };
      if (ctx.task && ctx.task->due_at != 0) {
        std::string due = FormatRfc3339(ctx.task->due_at);  // 2026-11-29T10:05:00.000Z
        body["due_date"] = due.substr(0, 10);
        body["due_time"] = due.substr(11, 5);
      }
      if (std::string lead = ctx.progress.Get("lead_id"); !lead.empty()) {
        body["lead_id"] = lead;
      } else if (auto deal = ParseInt64(ctx.progress.Get("deal_id"))) {
        body["deal_id"] = *deal;
      }
      if (owner) body["user_id"] = *owner;
      req.url = url("/activities");
      break;
    }
  }
  req.method = "POST";
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = DumpJson(body);
  return req;
}

DeliveryOutcome PipedriveConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  const PipedriveCall call = NextCall(ctx);
  const std::string_view step = PipedriveCallName(call);
  const nlohmann::json j = ParseBody(body);
  if (http_status >= 200 && http_status < 300) {
    auto success = j.is_object() ? j.find("success") : j.end();
    if (success == j.end() || *success != true) {
      // Pipedrive marks every answer with "success"; a 2xx without it is not its word.
      return Retryable(fmt::format("{}: answer without success=true (HTTP {})", step, http_status));
    }
    std::string id = IdFrom(j, call);
    switch (call) {
      case PipedriveCall::kSearch:
        if (id.empty()) return StepConfirmed({{kSearchedKey, AttemptMark(ctx)}}, "no person found");
        return StepConfirmed({{"person_id", id}}, fmt::format("found person {}", id));
      case PipedriveCall::kPerson:
      case PipedriveCall::kLead:
      case PipedriveCall::kDeal: {
        if (id.empty()) {
          // Created but unreadable: retrying would create a second record.
          return Permanent(fmt::format("{}: no id in the answer (HTTP {})", step, http_status));
        }
        std::string key = call == PipedriveCall::kPerson ? "person_id"
                          : call == PipedriveCall::kLead ? "lead_id"
                                                         : "deal_id";
        return StepConfirmed({{key, id}}, fmt::format("{} {}", step, id));
      }
      case PipedriveCall::kActivity: {
        std::string record = ctx.progress.Get("lead_id").empty()
                                 ? "deal:" + ctx.progress.Get("deal_id")
                                 : "lead:" + ctx.progress.Get("lead_id");
        return Confirmed(fmt::format("person:{} {} activity:{}", ctx.progress.Get("person_id"),
                                     record, id.empty() ? "unknown" : id),
                         fmt::format("activity {}", id));
      }
    }
  }
  if (http_status == 429) {
    return Retryable(fmt::format("{}: Pipedrive rate limit (HTTP 429)", step),
                     RateLimitWait(headers, ctx.now));
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  std::string code = j.is_object() && j.contains("code") ? SafeCode(j["code"]) : "";
  if ((http_status == 402 || http_status == 403) && !code.empty()) {
    // Plan caps (feature_capping_*): no retry helps until the plan changes.
    return Permanent(fmt::format("{}: Pipedrive {} (HTTP {})", step, code, http_status));
  }
  o.reason = fmt::format("{}: {}", step, o.reason);
  return o;
}

std::vector<std::string> PipedriveConnector::CheckSettings(
    const DestinationConfig& destination) const {
  std::vector<std::string> problems = CheckMappingSetting(destination, "owner_ids");
  if (auto it = destination.settings.find("owner_ids");
      it != destination.settings.end() && it->is_object()) {
    for (const auto& [member, value] : it->items()) {
      if (!ParseInt64(IdText(value))) {
        problems.push_back(
            fmt::format("'owner_ids': the user id for '{}' must be a number", member));
      }
    }
  }
  std::string create = OptionalSetting(destination, "create", "lead");
  if (create != "lead" && create != "deal") problems.push_back("'create' must be lead or deal");
  // The token and base_url are checked by building the first step's request (handoff check
  // does that too), so they are not reported twice.
  return problems;
}

void RegisterPipedriveConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "pipedrive",
      .note = "finds or creates a Pipedrive person, adds a lead (or deal) and an activity",
      .settings =
          {
              {"api_token", "personal API token (sent as ?api_token=), used without oauth2"},
              {"base_url",
               "API base, default https://api.pipedrive.com/v1 (or "
               "https://<company>.pipedrive.com/api/v1)"},
              {"create", "lead (default) or deal"},
              {"owner_ids", "mapping: team member id → Pipedrive user id"},
              {"activity_type", "activity type key, default call"},
          },
      .default_token_url = "https://oauth.pipedrive.com/oauth/token",
      .token_basic_auth = true,
      .make = [] { return std::make_unique<PipedriveConnector>(); },
  });
}

}  // namespace handoff
