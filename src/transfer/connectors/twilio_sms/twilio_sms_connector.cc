#include "transfer/connectors/twilio_sms/twilio_sms_connector.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/base64.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "transfer/connectors/common/escaped_text.h"
#include "transfer/delivery_template.h"

namespace handoff {
namespace {

constexpr std::string_view kTwilioBaseUrl = "https://api.twilio.com";
constexpr size_t kBodyMax = 1600;
// One SMS segment is 160 GSM-7 characters; the message gets about two of them.
constexpr size_t kMessageCut = 300;

// A plain E.164 number: '+', a non-zero digit, then 6 to 14 more digits.
bool IsE164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  return std::all_of(s.begin() + 1, s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

struct Credentials {
  std::string user;
  std::string password;
};

// Account SID + auth token, or an API key (SID + secret) acting for the account.
absl::StatusOr<Credentials> CredentialsOf(const DestinationConfig& d, const std::string& sid) {
  const std::string token = OptionalSetting(d, "auth_token");
  const std::string key = OptionalSetting(d, "api_key_sid");
  const std::string secret = OptionalSetting(d, "api_key_secret");
  if (!token.empty() && (!key.empty() || !secret.empty())) {
    return absl::FailedPreconditionError(
        "set either 'auth_token' or 'api_key_sid' + 'api_key_secret', not both");
  }
  if (!token.empty()) return Credentials{sid, token};
  if (key.empty() || secret.empty()) {
    return absl::FailedPreconditionError(
        "missing setting 'auth_token' (or 'api_key_sid' + 'api_key_secret')");
  }
  return Credentials{key, secret};
}

// The sender: exactly one of `from` (our number) and `messaging_service_sid`.
absl::StatusOr<std::pair<std::string, std::string>> SenderOf(const DestinationConfig& d) {
  const std::string from = OptionalSetting(d, "from");
  const std::string service = OptionalSetting(d, "messaging_service_sid");
  if (!from.empty() && !service.empty()) {
    return absl::FailedPreconditionError("set either 'from' or 'messaging_service_sid', not both");
  }
  if (!service.empty()) return std::make_pair(std::string("MessagingServiceSid"), service);
  if (from.empty()) {
    return absl::FailedPreconditionError("missing setting 'from' (or 'messaging_service_sid')");
  }
  return std::make_pair(std::string("From"), from);
}

// Problems with `to` and `body` that no inquiry can fix.
std::optional<std::string> RecipientSettingProblem(const DestinationConfig& d) {
  const std::string to = OptionalSetting(d, "to", "owner");
  if (to != "owner" && to != "lead" && !IsE164(to)) {
    return "'to' must be owner, lead or an E.164 number such as +14155550100";
  }
  // The default text is the team's summary (with the internal timeline link): never the lead's.
  if (to == "lead" && OptionalSetting(d, "body").empty()) {
    return "'to: lead' needs a 'body' template (the default text is the team's summary)";
  }
  return std::nullopt;
}

absl::StatusOr<std::string> RecipientOf(const DeliveryContext& ctx) {
  // A text-back always goes to the lead; a notification for one person goes to them.
  std::string to = OptionalSetting(ctx.destination, "to", "owner");
  if (ctx.handoff.purpose == "reply") to = "lead";
  if (ctx.recipient) to = "owner";
  if (to == "owner") {
    const TeamMember* person = PersonToNotify(ctx);
    if (person == nullptr) {
      return absl::FailedPreconditionError(
          ctx.handoff.purpose == "alert"
              ? "no phone: name a team member with `to:` in alerts.via, or set 'to' to a number"
              : "no phone: the inquiry has no task owner");
    }
    if (person->phone.empty()) {
      return absl::FailedPreconditionError(
          ctx.recipient ? fmt::format("no phone: {} has no phone in the team list", person->id)
                        : "no phone: the task owner has no phone in the team list");
    }
    return person->phone;
  }
  if (to == "lead") {
    const Inquiry& i = ctx.inquiry;
    std::string phone = !i.normalized.phone.empty() ? i.normalized.phone
                        : ctx.contact               ? ctx.contact->phone
                                                    : "";
    if (phone.empty()) return absl::FailedPreconditionError("no phone: the lead left no phone");
    if (!IsE164(phone)) {
      return absl::FailedPreconditionError("no phone: the lead's phone is not in E.164 form");
    }
    return phone;
  }
  return to;
}

std::string FormField(std::string_view name, std::string_view value) {
  return PercentEncode(name) + "=" + PercentEncode(value);
}

}  // namespace

std::string TwilioDefaultSms(const DeliverySummary& s) {
  std::string out = s.title;
  for (const auto& [label, value] : s.facts) {
    // The title already names them when they are known only by their number.
    if (label == "Phone" && value != s.who) out += "\n" + value;
  }
  if (!s.message.empty()) out += "\n\"" + Truncate(s.message, kMessageCut) + "\"";
  // The acknowledgement link first: it is what the reader of a notification acts on.
  if (!s.ack_url.empty()) out += "\nAck: " + s.ack_url;
  if (!s.timeline_url.empty()) out += "\n" + s.timeline_url;
  return Truncate(out, kBodyMax);
}

absl::StatusOr<OutboundRequest> TwilioSmsConnector::BuildRequest(const DeliveryContext& ctx) const {
  const DestinationConfig& d = ctx.destination;
  auto sid = RequiredSetting(d, "account_sid");
  if (!sid.ok()) return sid.status();
  if (PlainToken(*sid) != *sid) {
    return absl::FailedPreconditionError("'account_sid' must be the AC… id");
  }
  auto credentials = CredentialsOf(d, *sid);
  if (!credentials.ok()) return credentials.status();
  auto sender = SenderOf(d);
  if (!sender.ok()) return sender.status();
  if (auto problem = RecipientSettingProblem(d)) return absl::FailedPreconditionError(*problem);
  auto to = RecipientOf(ctx);
  if (!to.ok()) return to.status();

  std::string text;
  if (ctx.handoff.purpose == "reply" || ctx.handoff.purpose == "alert") {
    // The route's text-back, rendered when it was decided; or a leak alert's message.
    text = Truncate(ctx.handoff.text, kBodyMax);
    if (text.empty()) return absl::FailedPreconditionError("the message is empty");
  } else if (std::string tmpl = OptionalSetting(d, "body");
             !tmpl.empty() && !(ctx.recipient && OptionalSetting(d, "to") == "lead")) {
    // A lead-facing body ("Thanks, we will call you back") is not what a teammate should get.
    ASSIGN_OR_RETURN(std::string rendered, RenderDeliveryTemplate(tmpl, ctx));
    text = Truncate(rendered, kBodyMax);
    if (text.empty()) return absl::FailedPreconditionError("the 'body' template rendered empty");
  } else {
    text = TwilioDefaultSms(Summarize(ctx));
  }

  std::string base = OptionalSetting(d, "base_url", std::string(kTwilioBaseUrl));
  while (!base.empty() && base.back() == '/') base.pop_back();
  OutboundRequest req;
  req.method = "POST";
  req.url = fmt::format("{}/2010-04-01/Accounts/{}/Messages.json", base, PercentEncode(*sid));
  req.headers.emplace_back(
      "Authorization", "Basic " + Base64Encode(credentials->user + ":" + credentials->password));
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  req.body = FormField("To", *to) + "&" + FormField(sender->first, sender->second) + "&" +
             FormField("Body", text);
  if (std::string callback = OptionalSetting(d, "status_callback"); !callback.empty()) {
    req.body += "&" + FormField("StatusCallback", callback);
  }
  return req;
}

DeliveryOutcome TwilioSmsConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  if (http_status >= 200 && http_status < 300) {
    std::string sid =
        j.contains("sid") && j["sid"].is_string() ? PlainToken(j["sid"].get<std::string>()) : "";
    return Confirmed(std::move(sid), fmt::format("HTTP {}", http_status));
  }
  const int code = j.contains("code") && j["code"].is_number_integer() ? j["code"].get<int>() : 0;
  switch (code) {
    case 21610:
      return Permanent("recipient opted out (21610)");
    case 21211:
      return Permanent("invalid 'To' phone number (21211)");
    case 21614:
      return Permanent("'To' is not a mobile number (21614)");
    case 21408:
      return Permanent("no permission to send to that region (21408)");
    case 20003:
      return Permanent("twilio authentication failed (20003)");
    case 20429: {
      // Too many concurrent requests: never processed, so always safe to send again.
      DeliveryOutcome o = ClassifyHttpStatus(429, headers, ctx.now);
      o.reason = fmt::format("twilio: too many requests (20429, HTTP {})", http_status);
      return o;
    }
    default:
      break;
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  o.reason = code != 0 ? fmt::format("twilio error {} (HTTP {})", code, http_status)
                       : "twilio: " + o.reason;
  return o;
}

std::vector<std::string> TwilioSmsConnector::CheckSettings(const DestinationConfig& d) const {
  std::vector<std::string> problems;
  auto sid = RequiredSetting(d, "account_sid");
  if (!sid.ok()) {
    problems.emplace_back(sid.status().message());
  } else if (auto c = CredentialsOf(d, *sid); !c.ok()) {
    problems.emplace_back(c.status().message());
  }
  if (auto s = SenderOf(d); !s.ok()) problems.emplace_back(s.status().message());
  if (auto p = RecipientSettingProblem(d)) problems.push_back(*p);
  return problems;
}

void RegisterTwilioSmsConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "twilio_sms",
      .note = "texts a compact summary to the task owner (or a fixed number), or a configured "
              "reply to the lead, through Twilio's Messages API (HTTP Basic auth)",
      .settings =
          {
              {"account_sid", "the Twilio account (AC…)"},
              {"auth_token", "the account's auth token (or use api_key_sid + api_key_secret)"},
              {"api_key_sid", "an API key (SK…) instead of the auth token"},
              {"api_key_secret", "the API key's secret"},
              {"from", "our sending number, E.164 (or use messaging_service_sid)"},
              {"messaging_service_sid", "a Messaging Service (MG…) instead of 'from'"},
              {"to", "owner (default: the task owner's phone), lead, or a fixed E.164 number"},
              {"body",
               "a template such as 'Thanks {{contact.name}}, we will call you back' "
               "(required with to: lead; the names of the webhook payload); default: a "
               "summary for the team"},
              {"status_callback", "a URL Twilio posts delivery status to"},
              {"base_url", "API base, default https://api.twilio.com"},
          },
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<TwilioSmsConnector>(); },
  });
}

}  // namespace handoff
