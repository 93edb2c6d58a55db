#include "entry/sources/meta_leads/meta_leads_adapter.h"

#include <memory>
#include <set>
#include <utility>

#include "entry/common/body_parser.h"
#include "entry/common/json_text.h"
#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"
#include "http/http_client.h"
#include "http/url_encoding.h"
#include "transfer/ssrf_guard.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kDefaultGraphBase[] = "https://graph.facebook.com";
constexpr char kDefaultGraphVersion[] = "v21.0";
constexpr char kLeadFields[] = "id,created_time,ad_id,form_id,field_data,is_organic,platform";
constexpr Micros kDefaultFetchTimeout = 10 * kMicrosPerSecond;
constexpr size_t kMaxChallengeBytes = 128;
constexpr size_t kMaxIdBytes = 64;

bool AllowPrivate(const SourceConfig& source) {
  auto it = source.settings.find("allow_private");
  return it != source.settings.end() && it->is_boolean() && it->get<bool>();
}

// Meta's ids are decimal strings (sometimes sent as JSON numbers); anything else is refused so
// an id can go into a URL path as is.
bool IsGraphId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The first value of query parameter `name`, or "" (a malformed query gives "").
std::string QueryParam(const HttpRequest& request, std::string_view name) {
  auto params = ParseFormUrlEncoded(request.query, 50);
  if (!params.ok()) return "";
  for (const auto& p : *params) {
    if (p.name == name) return p.value;
  }
  return "";
}

// Replaces every copy of `secret` (raw or percent-encoded) in `text`.
std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (const std::string& needle : {secret, PercentEncode(secret)}) {
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at)) {
      text.replace(at, needle.size(), "[redacted]");
    }
  }
  return text;
}

// Turns a Graph API answer that is not 200 into the status Enrichment acts on: retry for
// server errors and rate limits, give up for everything else.
absl::Status GraphError(int http_status, const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  const json* error = JsonAt(parsed, {"error"});
  int64_t code = 0;
  std::string message;
  if (error != nullptr) {
    const json* c = JsonAt(*error, {"code"});
    if (c != nullptr && c->is_number_integer()) code = c->get<int64_t>();
    message = JsonText(*error, {"message"}).substr(0, 200);
  }
  const std::string detail = fmt::format("Graph API answered {}{}{}", http_status,
                                         code ? fmt::format(" (error {})", code) : "",
                                         message.empty() ? "" : ": " + message);
  static const std::set<int64_t> kRateLimits = {4, 17, 32, 613, 80005};
  if (http_status >= 500 || http_status == 429 || kRateLimits.count(code) ||
      (error != nullptr && JsonAt(*error, {"is_transient"}) != nullptr &&
       JsonAt(*error, {"is_transient"})->is_boolean() &&
       JsonAt(*error, {"is_transient"})->get<bool>())) {
    return absl::UnavailableError(detail);
  }
  if (http_status == 401 || http_status == 403 || code == 190 || code == 10 ||
      (code >= 200 && code < 300)) {
    return absl::PermissionDeniedError(detail);
  }
  if (http_status == 404 || code == 100) return absl::NotFoundError(detail);
  return absl::FailedPreconditionError(detail);
}

// The text of one field_data entry: its values joined.
std::string Values(const json& entry) {
  const json* values = JsonAt(entry, {"values"});
  std::string out;
  if (values == nullptr || !values->is_array()) return out;
  for (const json& v : *values) {
    std::string text =
        v.is_string() ? v.get<std::string>() : (v.is_number() || v.is_boolean() ? v.dump() : "");
    if (text.empty()) continue;
    if (!out.empty()) out += ", ";
    out += text;
  }
  return out;
}

void FillBlank(std::string& to, const std::string& from) {
  if (to.empty()) to = from;
}

// Merges a lead's field_data into the inquiry. Standard keys fill the contact and fields;
// anything else is a custom question, kept in fields and listed in the message.
void MergeFieldData(const json& lead, Inquiry& in) {
  static const std::set<std::string> kStandard = {"state",
                                                  "province",
                                                  "country",
                                                  "street_address",
                                                  "company_name",
                                                  "job_title",
                                                  "work_email",
                                                  "work_phone_number",
                                                  "date_of_birth",
                                                  "gender",
                                                  "marital_status",
                                                  "military_status",
                                                  "relationship_status"};
  const json* data = JsonAt(lead, {"field_data"});
  std::string first, last, questions;
  if (data != nullptr && data->is_array()) {
    for (const json& entry : *data) {
      const std::string name = JsonText(entry, {"name"});
      const std::string value = Values(entry);
      if (name.empty() || value.empty()) continue;
      if (name == "full_name") {
        FillBlank(in.received.name, value);
      } else if (name == "first_name") {
        first = value;
      } else if (name == "last_name") {
        last = value;
      } else if (name == "email") {
        FillBlank(in.received.email, value);
      } else if (name == "phone_number") {
        FillBlank(in.received.phone, value);
      } else if (name == "zip_code" || name == "post_code" || name == "postal_code") {
        if (!in.fields.contains("postcode")) in.fields["postcode"] = value;
      } else if (name == "city") {
        if (!in.fields.contains("city")) in.fields["city"] = value;
        FillBlank(in.location, value);
      } else if (kStandard.count(name)) {
        if (!in.fields.contains(name)) in.fields[name] = value;
      } else {
        // A custom question: never let it overwrite the ids the webhook set.
        if (!in.fields.contains(name)) in.fields[name] = value;
        questions += (questions.empty() ? "" : "\n") + name + ": " + value;
      }
    }
  }
  if (in.received.name.empty() && (!first.empty() || !last.empty())) {
    in.received.name = first.empty() ? last : (last.empty() ? first : first + " " + last);
  }
  if (in.message.empty()) in.message = questions;
  for (const char* key : {"ad_id", "form_id", "platform"}) {
    const std::string v = JsonText(lead, {key});
    if (!v.empty() && !in.fields.contains(key)) in.fields[key] = v;
  }
  if (const json* organic = JsonAt(lead, {"is_organic"}); organic && organic->is_boolean()) {
    in.fields["is_organic"] = organic->get<bool>();
  }
}

absl::StatusOr<ParsedDelivery> Handshake(const HttpRequest& request) {
  const std::string challenge = QueryParam(request, "hub.challenge");
  if (challenge.empty()) return Reject(RejectReason::kMissingField, "missing hub.challenge");
  // Meta sends a number; echoing anything else would let the URL reflect content.
  if (challenge.size() > kMaxChallengeBytes) {
    return Reject(RejectReason::kInvalidField, "hub.challenge is too long");
  }
  for (char c : challenge) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return Reject(RejectReason::kInvalidField, "hub.challenge has unexpected characters");
  }
  ParsedDelivery out;
  out.store = false;
  HttpResponse reply;
  reply.status = 200;
  reply.content_type = "text/plain";
  reply.body = challenge;
  out.reply = std::move(reply);
  return out;
}

}  // namespace

absl::Status MetaLeadsAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                      Micros /*now*/) const {
  if (request.method == "GET") {
    const std::string expected = TextSetting(source, "verify_token");
    if (expected.empty()) {
      return Reject(RejectReason::kBadCredentials, "this source has no verify_token configured");
    }
    if (QueryParam(request, "hub.mode") != "subscribe") {
      return Reject(RejectReason::kBadCredentials, "hub.mode is not 'subscribe'");
    }
    if (!ConstantTimeEquals(QueryParam(request, "hub.verify_token"), expected)) {
      return Reject(RejectReason::kBadCredentials, "hub.verify_token does not match");
    }
    return absl::OkStatus();
  }
  if (!source.auth.hmac_secrets.empty()) {
    absl::Status s =
        VerifyHexSignatureHeader(request, "x-hub-signature-256", "sha256=", HmacDigest::kSha256,
                                 source.auth.hmac_secrets, request.body);
    if (!s.ok()) return s;
  }
  return VerifySourceToken(source, request);
}

absl::StatusOr<ParsedDelivery> MetaLeadsAdapter::Parse(const SourceConfig& source,
                                                       const HttpRequest& request) const {
  if (request.method == "GET") return Handshake(request);
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;
  const std::string object = JsonText(root, {"object"});
  if (object != "page") {
    return Reject(RejectReason::kIgnored,
                  fmt::format("object '{}' carries no leads", object.substr(0, 40)));
  }
  const json* entries = JsonAt(root, {"entry"});
  if (entries == nullptr || !entries->is_array()) {
    return Reject(RejectReason::kMissingField, "the delivery has no 'entry' list");
  }
  Channel channel = Channel::kForm;
  if (!source.channel.empty()) channel = ParseChannel(source.channel).value_or(Channel::kForm);

  std::vector<ParsedDelivery> leads;
  for (const json& entry : *entries) {
    const json* changes = JsonAt(entry, {"changes"});
    if (changes == nullptr || !changes->is_array()) continue;
    for (const json& change : *changes) {
      if (JsonText(change, {"field"}) != "leadgen") continue;
      const json* value = JsonAt(change, {"value"});
      if (value == nullptr || !value->is_object()) {
        return Reject(RejectReason::kMissingField, "a leadgen change has no 'value'");
      }
      const std::string leadgen_id = JsonText(*value, {"leadgen_id"});
      if (leadgen_id.empty()) {
        return Reject(RejectReason::kMissingField, "a leadgen change has no 'leadgen_id'");
      }
      if (!IsGraphId(leadgen_id)) {
        return Reject(RejectReason::kInvalidField, "leadgen_id is not a Graph id (digits)");
      }
      ParsedDelivery d;
      Inquiry& in = d.inquiry;
      in.channel = channel;
      in.status = kAwaitingContext;
      in.provider_event_id = leadgen_id;
      in.fields["kind"] = "lead_ad";
      in.fields["leadgen_id"] = leadgen_id;
      for (const char* key : {"page_id", "form_id", "ad_id", "adgroup_id"}) {
        const std::string v = JsonText(*value, {key});
        if (!v.empty()) in.fields[key] = v;
      }
      const json* created = JsonAt(*value, {"created_time"});
      if (created != nullptr && created->is_number_integer() && created->get<int64_t>() > 0 &&
          created->get<int64_t>() < 100'000'000'000LL) {
        in.occurred_at = created->get<int64_t>() * kMicrosPerSecond;
      }
      in.raw_payload = request.body;
      in.raw_content_type = std::string(request.Header("content-type").value_or(""));
      d.dedupe_key = "leadgen:" + leadgen_id;
      leads.push_back(std::move(d));
    }
  }
  if (leads.empty()) return Reject(RejectReason::kIgnored, "no leadgen change");
  ParsedDelivery first = std::move(leads.front());
  for (size_t i = 1; i < leads.size(); ++i) first.batch.push_back(std::move(leads[i]));
  return first;
}

absl::Status MetaLeadsAdapter::FetchContext(const SourceConfig& source, Inquiry& inquiry) const {
  const std::string leadgen_id = JsonText(inquiry.fields, {"leadgen_id"});
  if (!IsGraphId(leadgen_id)) {
    return absl::FailedPreconditionError("the inquiry has no leadgen_id to fetch");
  }
  const std::string token = TextSetting(source, "access_token");
  if (token.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("source '{}' has no access_token to read leads with", source.name));
  }
  std::string base = TextSetting(source, "graph_base");
  if (base.empty()) base = kDefaultGraphBase;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string version = TextSetting(source, "graph_version");
  if (version.empty()) version = kDefaultGraphVersion;

  HttpClientRequest request;
  request.url = fmt::format("{}/{}/{}?fields={}&access_token={}", base, PercentEncode(version),
                            leadgen_id, kLeadFields, PercentEncode(token));
  request.headers = {{"Accept", "application/json"}};
  request.timeout =
      DurationSetting(source, "fetch_timeout", kDefaultFetchTimeout).value_or(kDefaultFetchTimeout);
  if (!AllowPrivate(source)) {
    request.check_address = [](const sockaddr* address, socklen_t length) {
      if (auto range = RefusedRange(address, length)) {
        return absl::PermissionDeniedError(fmt::format(
            "the Graph API address is in the {} range (set allow_private to permit it)", *range));
      }
      return absl::OkStatus();
    };
  }
  auto response = HttpFetch(request);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        Redact(fmt::format("fetching lead {}: {}", leadgen_id,
                                           std::string(response.status().message())),
                               token));
  }
  if (response->status != 200) {
    absl::Status s = GraphError(response->status, response->body);
    return absl::Status(
        s.code(),
        Redact(fmt::format("fetching lead {}: {}", leadgen_id, std::string(s.message())), token));
  }
  const json lead = json::parse(response->body, nullptr, false);
  if (!lead.is_object()) {
    return absl::UnavailableError(
        fmt::format("fetching lead {}: the Graph API answered with no JSON object", leadgen_id));
  }
  MergeFieldData(lead, inquiry);
  return absl::OkStatus();
}

void RegisterMetaLeadsSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "meta_leads",
      .trust_note = "verifies X-Hub-Signature-256 (HMAC-SHA256 with the app secret) and the "
                    "subscription verify token",
      .default_channel = Channel::kForm,
      .methods = {"GET", "POST"},
      .settings = {{"verify_token",
                    "the Verify Token entered in the app's webhook setup (required)"},
                   {"access_token",
                    "the Page access token the lead's answers are read with (required)"},
                   {"graph_base", "the Graph API base URL (default https://graph.facebook.com)"},
                   {"graph_version", "the Graph API version (default v21.0)"},
                   {"allow_private",
                    "true: allow graph_base on loopback or private addresses (tests, proxies)"},
                   {"fetch_timeout", "timeout of one Graph API request (default 10s)"}},
      .make = [] { return std::make_unique<MetaLeadsAdapter>(); },
  });
}

}  // namespace handoff
