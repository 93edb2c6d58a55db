#include "transfer/connectors/hubspot/hubspot_connector.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/time_format.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "transfer/connectors/crm_common/crm_request.h"
#include "transfer/delivery_summary.h"

namespace handoff {
namespace {

constexpr const char* kHubspotBaseUrl = "https://api.hubapi.com";
// HubSpot's limit on a note body (hs_note_body); also applied to the task body.
constexpr size_t kMaxBodyBytes = 65536;
constexpr int kNoteToContact = 202;
constexpr int kTaskToContact = 204;
// Without a Retry-After, a burst limit is waited out over its window (10 s by default) and the
// daily limit resets at midnight in the portal's time zone, so an hour is a polite first try.
constexpr Micros kDefaultRateWindow = 10 * kMicrosPerSecond;
constexpr Micros kDailyLimitWait = kMicrosPerHour;
constexpr std::array<std::string_view, 3> kTaskTypes = {"CALL", "EMAIL", "TODO"};
constexpr std::array<std::string_view, 3> kPriorities = {"LOW", "MEDIUM", "HIGH"};

enum class HubspotCall { kContact, kNote, kTask };

// The call this attempt makes: the first record not yet captured.
HubspotCall NextCall(const DeliveryProgress& progress) {
  if (progress.Get("contact_id").empty()) return HubspotCall::kContact;
  if (progress.Get("note_id").empty()) return HubspotCall::kNote;
  return HubspotCall::kTask;
}

std::string_view HubspotCallName(HubspotCall call) {
  switch (call) {
    case HubspotCall::kContact:
      return "contact";
    case HubspotCall::kNote:
      return "note";
    case HubspotCall::kTask:
      return "task";
  }
  return "";
}

bool OneOf(std::string_view value, const auto& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

nlohmann::json AssociationTo(const std::string& contact_id, int type_id) {
  return nlohmann::json::array(
      {{{"to", {{"id", contact_id}}},
        {"types", nlohmann::json::array({{{"associationCategory", "HUBSPOT_DEFINED"},
                                          {"associationTypeId", type_id}}})}}});
}

nlohmann::json ContactProperties(const CrmPerson& p) {
  // Only the fields we have: an empty value in an upsert would erase what the CRM knows.
  nlohmann::json props = nlohmann::json::object();
  if (!p.email.empty()) props["email"] = p.email;
  if (!p.first_name.empty()) props["firstname"] = p.first_name;
  if (!p.last_name.empty()) props["lastname"] = p.last_name;
  if (!p.phone.empty()) props["phone"] = p.phone;
  return props;
}

std::string TaskPriority(const DeliveryContext& ctx) {
  std::string configured = OptionalSetting(ctx.destination, "task_priority");
  if (!configured.empty()) return configured;
  auto urgency = ctx.inquiry.fields.find("urgency");
  bool emergency = urgency != ctx.inquiry.fields.end() && *urgency == "emergency";
  return emergency ? "HIGH" : "MEDIUM";
}

// The contact id in a successful contact answer: the batch upsert's results[0].id or the
// created object's id.
std::string ContactIdFrom(const nlohmann::json& j) {
  if (!j.is_object()) return "";
  if (auto results = j.find("results"); results != j.end() && results->is_array()) {
    for (const auto& r : *results) {
      if (r.is_object() && r.contains("id")) return IdText(r["id"]);
    }
    return "";
  }
  return j.contains("id") ? IdText(j["id"]) : "";
}

// The category of a failed answer: the body's own, or that of the first batch error.
std::string CategoryOf(const nlohmann::json& j) {
  if (!j.is_object()) return "";
  if (j.contains("category")) return SafeCode(j["category"]);
  if (auto errors = j.find("errors"); errors != j.end() && errors->is_array() && !errors->empty()) {
    const auto& first = (*errors)[0];
    if (first.is_object() && first.contains("category")) return SafeCode(first["category"]);
  }
  return "";
}

// "Contact already exists. Existing ID: 95123" → "95123".
std::string ExistingIdFrom(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) return "";
  const std::string& message = j["message"].get_ref<const std::string&>();
  constexpr std::string_view kMarker = "Existing ID: ";
  size_t at = message.find(kMarker);
  if (at == std::string::npos) return "";
  size_t begin = at + kMarker.size();
  size_t end = begin;
  while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
  return message.substr(begin, end - begin);
}

DeliveryOutcome RateLimited(const nlohmann::json& j,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            Micros now, std::string_view step) {
  std::string policy = j.is_object() && j.contains("policyName") ? SafeCode(j["policyName"]) : "";
  std::string reason =
      fmt::format("{}: HubSpot rate limit{} (HTTP 429)", step, policy.empty() ? "" : " " + policy);
  if (policy == "DAILY") return Retryable(std::move(reason), kDailyLimitWait);
  if (auto value = FindHeader(headers, "retry-after")) {
    if (auto after = ParseRetryAfter(*value, now)) return Retryable(std::move(reason), after);
  }
  if (auto window = FindHeader(headers, "x-hubspot-ratelimit-interval-milliseconds")) {
    if (auto ms = ParseInt64(*window); ms && *ms > 0 && *ms <= 3600 * 1000) {
      return Retryable(std::move(reason), *ms * kMicrosPerMilli);
    }
  }
  return Retryable(std::move(reason), kDefaultRateWindow);
}

// "contact:123 note:456 task:789", with the record the last step just created.
std::string RemoteId(const DeliveryProgress& progress, std::string_view last_label,
                     const std::string& last_id) {
  std::string id = fmt::format("contact:{}", progress.Get("contact_id"));
  for (auto [label, key] : {std::pair<std::string_view, const char*>{"note", "note_id"},
                            std::pair<std::string_view, const char*>{"task", "task_id"}}) {
    std::string value = label == last_label ? last_id : progress.Get(key);
    if (!value.empty()) id += fmt::format(" {}:{}", label, value);
  }
  return id;
}

}  // namespace

absl::StatusOr<OutboundRequest> HubSpotConnector::BuildRequest(const DeliveryContext& ctx) const {
  auto base = BaseUrlSetting(ctx.destination, kHubspotBaseUrl);
  if (!base.ok()) return base.status();
  auto token = AuthToken(ctx, "token");
  if (!token.ok()) return token.status();

  const HubspotCall call = NextCall(ctx.progress);
  OutboundRequest req;
  req.method = "POST";
  req.step_name = std::string(HubspotCallName(call));
  req.headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}};
  const std::string contact_id = ctx.progress.Get("contact_id");
  nlohmann::json body;
  switch (call) {
    case HubspotCall::kContact: {
      CrmPerson person = PersonOf(ctx);
      if (!person.email.empty()) {
        // Upsert by email: a returning customer's existing contact gets the note.
        req.url = *base + "/crm/v3/objects/contacts/batch/upsert";
        body = {{"inputs", nlohmann::json::array({{{"idProperty", "email"},
                                                   {"id", person.email},
                                                   {"properties", ContactProperties(person)}}})}};
      } else {
        req.url = *base + "/crm/v3/objects/contacts";
        body = {{"properties", ContactProperties(person)}};
      }
      break;
    }
    case HubspotCall::kNote: {
      Micros at = ctx.inquiry.occurred_at != 0 ? ctx.inquiry.occurred_at : ctx.inquiry.received_at;
      req.url = *base + "/crm/v3/objects/notes";
      body = {{"properties",
               {{"hs_timestamp", FormatRfc3339(at != 0 ? at : ctx.now)},
                {"hs_note_body", Truncate(SummaryHtml(Summarize(ctx)), kMaxBodyBytes)}}},
              {"associations", AssociationTo(contact_id, kNoteToContact)}};
      break;
    }
    case HubspotCall::kTask: {
      if (!ctx.task) return absl::FailedPreconditionError("task step without a task");
      nlohmann::json props = {
          {"hs_timestamp", FormatRfc3339(ctx.task->due_at != 0 ? ctx.task->due_at : ctx.now)},
          {"hs_task_subject", ctx.task->title},
          {"hs_task_body", Truncate(SummaryText(Summarize(ctx)), kMaxBodyBytes)},
          {"hs_task_status", "NOT_STARTED"},
          {"hs_task_priority", TaskPriority(ctx)},
          {"hs_task_type", OptionalSetting(ctx.destination, "task_type", "CALL")},
      };
      std::string owner = MappedSetting(ctx.destination, "owners", OwnerMemberId(ctx));
      if (!owner.empty()) props["hubspot_owner_id"] = owner;
      req.url = *base + "/crm/v3/objects/tasks";
      body = {{"properties", std::move(props)},
              {"associations", AssociationTo(contact_id, kTaskToContact)}};
      break;
    }
  }
  req.body = DumpJson(body);
  return req;
}

DeliveryOutcome HubSpotConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  const HubspotCall call = NextCall(ctx.progress);
  const std::string_view step = HubspotCallName(call);
  const nlohmann::json j = ParseBody(body);
  const bool ok = http_status >= 200 && http_status < 300;

  if (call == HubspotCall::kContact && (ok || http_status == 409)) {
    std::string id = http_status == 409 ? ExistingIdFrom(j) : ContactIdFrom(j);
    if (id.empty()) {
      std::string category = CategoryOf(j);
      if (http_status == 207 || http_status == 409) {
        // A batch with its only input failed, or a conflict we cannot resolve to an id.
        return Permanent(fmt::format("contact: HubSpot {} (HTTP {})",
                                     category.empty() ? "error" : category, http_status));
      }
      // Without an id the note has nothing to attach to. Upserting again by email is harmless;
      // creating again by phone would make a second contact.
      std::string reason =
          fmt::format("contact: no contact id in the answer (HTTP {})", http_status);
      if (PersonOf(ctx).email.empty()) return Permanent(std::move(reason));
      return Retryable(std::move(reason));
    }
    return StepConfirmed({{"contact_id", id}}, fmt::format("contact {}", id));
  }
  if (ok) {
    // The record exists now: never fail a confirmed write over an unreadable id.
    std::string id = j.is_object() && j.contains("id") ? IdText(j["id"]) : "";
    if (id.empty()) id = "unknown";
    if (call == HubspotCall::kNote && ctx.task) {
      return StepConfirmed({{"note_id", id}}, fmt::format("note {}", id));
    }
    return Confirmed(RemoteId(ctx.progress, step, id), fmt::format("{} {}", step, id));
  }
  if (http_status == 429) return RateLimited(j, headers, ctx.now, step);

  const std::string category = CategoryOf(j);
  if (http_status == 401 || http_status == 403) {
    // 401: the dispatcher has already refreshed an OAuth2 token once; 403: a missing scope.
    return Permanent(fmt::format("{}: HubSpot {} (HTTP {})", step,
                                 category.empty() ? "refused the token" : category, http_status));
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  o.reason = category.empty()
                 ? fmt::format("{}: {}", step, o.reason)
                 : fmt::format("{}: HubSpot {} (HTTP {})", step, category, http_status);
  return o;
}

std::vector<std::string> HubSpotConnector::CheckSettings(
    const DestinationConfig& destination) const {
  std::vector<std::string> problems = CheckMappingSetting(destination, "owners");
  std::string type = OptionalSetting(destination, "task_type", "CALL");
  if (!OneOf(type, kTaskTypes)) problems.push_back("'task_type' must be CALL, EMAIL or TODO");
  std::string priority = OptionalSetting(destination, "task_priority", "MEDIUM");
  if (!OneOf(priority, kPriorities)) {
    problems.push_back("'task_priority' must be LOW, MEDIUM or HIGH");
  }
  // The token and base_url are checked by building the first step's request (handoff check
  // does that too), so they are not reported twice.
  return problems;
}

void RegisterHubSpotConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "hubspot",
      .note = "upserts a HubSpot contact, adds the inquiry as a note and the next step as a task",
      .settings =
          {
              {"token", "private app token (Bearer), used without an oauth2 block"},
              {"base_url", "API base, default https://api.hubapi.com"},
              {"owners", "mapping: team member id → HubSpot owner id, for task owners"},
              {"task_type", "CALL (default), EMAIL or TODO"},
              {"task_priority",
               "LOW, MEDIUM or HIGH; default HIGH for fields.urgency emergency, else MEDIUM"},
          },
      // HubSpot's documented token endpoint (v1; HubSpot announced its v3 successor for 2027:
      // set oauth2.token_url to move early).
      .default_token_url = "https://api.hubapi.com/oauth/v1/token",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<HubSpotConnector>(); },
  });
}

}  // namespace handoff
