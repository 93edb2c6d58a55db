#include "transfer/connectors/salesforce/salesforce_connector.h"

#include <string_view>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "transfer/connectors/crm_common/crm_request.h"
#include "transfer/delivery_summary.h"

namespace handoff {
namespace {

constexpr const char* kDefaultApiVersion = "v62.0";
constexpr const char* kTokenUrl = "https://login.salesforce.com/services/oauth2/token";
// Standard Lead field lengths: a longer value is refused with STRING_TOO_LONG, which no retry
// fixes, so values are cut to fit instead.
constexpr size_t kMaxLastName = 80;
constexpr size_t kMaxFirstName = 40;
constexpr size_t kMaxCompany = 255;
constexpr size_t kMaxEmail = 80;
constexpr size_t kMaxPhone = 40;
constexpr size_t kMaxDescription = 32000;
// REQUEST_LIMIT_EXCEEDED is the org's rolling 24-hour API allowance: no Retry-After, and
// minutes rarely help.
constexpr Micros kRequestLimitWait = kMicrosPerHour;

absl::StatusOr<std::string> LeadUrl(const DeliveryContext& ctx) {
  std::string base = OptionalSetting(ctx.destination, "base_url");
  if (base.empty() && ctx.access_token) base = ctx.access_token->instance_url;
  if (base.empty()) {
    return absl::FailedPreconditionError(
        "needs 'base_url' (https://<MyDomain>.my.salesforce.com) or an oauth2 token with an "
        "instance_url");
  }
  auto checked = NormalizeBaseUrl(std::move(base));
  if (!checked.ok()) return checked.status();
  return fmt::format("{}/services/data/{}/sobjects/Lead/", *checked,
                     OptionalSetting(ctx.destination, "api_version", kDefaultApiVersion));
}

std::string CompanyOf(const DeliveryContext& ctx) {
  auto company = ctx.inquiry.fields.find("company");
  if (company != ctx.inquiry.fields.end() && company->is_string() && !company->empty()) {
    return company->get<std::string>();
  }
  return OptionalSetting(ctx.destination, "company_fallback", "Unknown");
}

// The first errorCode of an error array answer ([{"message","errorCode","fields"}]).
std::string ErrorCodeOf(const nlohmann::json& j) {
  if (j.is_array() && !j.empty() && j[0].is_object() && j[0].contains("errorCode")) {
    return SafeCode(j[0]["errorCode"]);
  }
  return "";
}

}  // namespace

absl::StatusOr<OutboundRequest> SalesforceConnector::BuildRequest(
    const DeliveryContext& ctx) const {
  auto url = LeadUrl(ctx);
  if (!url.ok()) return url.status();
  auto token = AuthToken(ctx, "token");
  if (!token.ok()) return token.status();
  auto assign = BoolSetting(ctx.destination, "assignment_rule");
  if (!assign.ok()) return assign.status();
  auto allow_duplicates = BoolSetting(ctx.destination, "allow_duplicates");
  if (!allow_duplicates.ok()) return allow_duplicates.status();

  const CrmPerson person = PersonOf(ctx);
  // LastName is required: the surname, else the whole (single-word) name, else whatever
  // identifies the person.
  std::string last = person.last_name.empty() ? person.first_name : person.last_name;
  std::string first = person.last_name.empty() ? "" : person.first_name;
  if (last.empty()) last = !person.phone.empty() ? person.phone : person.email;
  if (last.empty()) last = "Unknown";
  nlohmann::json lead = {
      {"LastName", Truncate(last, kMaxLastName)},
      {"Company", Truncate(CompanyOf(ctx), kMaxCompany)},
      {"Description", Truncate(SummaryText(Summarize(ctx)), kMaxDescription)},
  };
  if (!first.empty()) lead["FirstName"] = Truncate(first, kMaxFirstName);
  // A cut email would be a wrong address; Salesforce refuses an overlong one, as it should.
  if (!person.email.empty() && person.email.size() <= kMaxEmail) lead["Email"] = person.email;
  if (!person.phone.empty()) lead["Phone"] = Truncate(person.phone, kMaxPhone);
  if (std::string source = OptionalSetting(ctx.destination, "lead_source"); !source.empty()) {
    lead["LeadSource"] = source;
  }

  OutboundRequest req;
  req.method = "POST";
  req.url = *url;
  req.step_name = "lead";
  req.headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}};
  if (*assign) req.headers.emplace_back("Sforce-Auto-Assign", **assign ? "TRUE" : "FALSE");
  if (allow_duplicates->value_or(false)) {
    req.headers.emplace_back("Sforce-Duplicate-Rule-Header", "allowSave=true");
  }
  req.body = DumpJson(lead);
  return req;
}

DeliveryOutcome SalesforceConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  const nlohmann::json j = ParseBody(body);
  if (http_status >= 200 && http_status < 300) {
    // Created: even an unreadable id must not lead to a second Lead.
    std::string id = j.is_object() && j.contains("id") ? IdText(j["id"]) : "";
    return Confirmed(id, fmt::format("HTTP {}", http_status));
  }
  const std::string code = ErrorCodeOf(j);
  if (code == "REQUEST_LIMIT_EXCEEDED") {
    return Retryable("Salesforce REQUEST_LIMIT_EXCEEDED (the org's daily API limit)",
                     kRequestLimitWait);
  }
  if (code == "DUPLICATES_DETECTED") {
    return Permanent(
        "Salesforce DUPLICATES_DETECTED: a duplicate rule blocked the Lead (set allow_duplicates "
        "to save anyway)");
  }
  if (http_status == 401) {
    // The dispatcher has already refreshed an OAuth2 token and retried once.
    return Permanent(
        fmt::format("Salesforce {} (HTTP 401)", code.empty() ? "INVALID_SESSION_ID" : code));
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  if (!code.empty()) o.reason = fmt::format("Salesforce {} (HTTP {})", code, http_status);
  return o;
}

std::vector<std::string> SalesforceConnector::CheckSettings(
    const DestinationConfig& destination) const {
  // The token, the org's URL and the header switches are checked by building the request
  // (handoff check does that too), so they are not reported twice.
  std::string version = OptionalSetting(destination, "api_version", kDefaultApiVersion);
  if (!version.starts_with("v") || SafeCode(version).empty()) {
    return {"'api_version' must look like v62.0"};
  }
  return {};
}

void RegisterSalesforceConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "salesforce",
      .note = "creates a Salesforce Lead with the inquiry summary as its Description",
      .settings =
          {
              {"base_url", "the org's My Domain URL; default: the OAuth2 token's instance_url"},
              {"api_version", "REST API version, default v62.0"},
              {"token", "static access token (Bearer), used without an oauth2 block"},
              {"lead_source", "LeadSource picklist value (optional)"},
              {"company_fallback", "Company when the inquiry names none, default Unknown"},
              {"assignment_rule", "true/false: sends Sforce-Auto-Assign (run assignment rules)"},
              {"allow_duplicates",
               "true: save despite duplicate rules "
               "(Sforce-Duplicate-Rule-Header: allowSave=true)"},
          },
      .default_token_url = kTokenUrl,
      .token_basic_auth = false,
      .make = [] { return std::make_unique<SalesforceConnector>(); },
  });
}

}  // namespace handoff
