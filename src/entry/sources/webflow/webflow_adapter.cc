#include "entry/sources/webflow/webflow_adapter.h"

#include <memory>

#include "core/ascii.h"
#include "entry/common/field_map.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

// Webflow form labels, lowercased: what a business names its fields on a typical site.
const FieldMap& DefaultLabels() {
  static const auto* map = new FieldMap{
      {"name", "name"},
      {"name", "full name"},
      {"name", "your name"},
      {"first_name", "first name"},
      {"first_name", "first_name"},
      {"last_name", "last name"},
      {"last_name", "last_name"},
      {"email", "email"},
      {"email", "email address"},
      {"email", "e-mail"},
      {"phone", "phone"},
      {"phone", "phone number"},
      {"phone", "telephone"},
      {"phone", "mobile"},
      {"phone", "tel"},
      {"message", "message"},
      {"message", "comments"},
      {"message", "details"},
      {"message", "how can we help?"},
      {"service", "service"},
      {"location", "location"},
      {"utm_source", "utm_source"},
      {"utm_medium", "utm_medium"},
      {"utm_campaign", "utm_campaign"},
      {"utm_term", "utm_term"},
      {"utm_content", "utm_content"},
      {"referrer", "referrer"},
  };
  return *map;
}

// The text of a string member, "" when absent or not a string.
std::string Text(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

absl::Status WebflowAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                    Micros now) const {
  if (absl::Status s = VerifySourceToken(source, request); !s.ok()) return s;
  if (source.auth.hmac_secrets.empty()) return absl::OkStatus();
  auto tolerance = DurationSetting(source, "tolerance", 5 * kMicrosPerMinute);
  if (!tolerance.ok()) return tolerance.status();

  auto timestamp = SingleSignatureHeader(request, "x-webflow-timestamp");
  if (!timestamp.ok()) return timestamp.status();
  auto signature = SingleSignatureHeader(request, "x-webflow-signature");
  if (!signature.ok()) return signature.status();
  if (timestamp->empty() || timestamp->size() > 15 ||
      timestamp->find_first_not_of("0123456789") != std::string_view::npos) {
    return BadCredentials("x-webflow-timestamp is not a number of milliseconds");
  }
  const auto mac = HexDecode(*signature);
  if (!mac || mac->size() != 32) {
    return BadCredentials("x-webflow-signature is not a hex HMAC-SHA256");
  }
  const std::string signed_text = fmt::format("{}:{}", *timestamp, request.body);
  if (!MatchesAnyHmacSha256(source.auth.hmac_secrets, signed_text, *mac)) {
    return BadCredentials("x-webflow-signature does not match the timestamp and body");
  }
  const Micros signed_at = std::stoll(std::string(*timestamp)) * kMicrosPerMilli;
  return CheckTimestampTolerance(signed_at, now, *tolerance);
}

absl::StatusOr<ParsedDelivery> WebflowAdapter::Parse(const SourceConfig& source,
                                                     const HttpRequest& request) const {
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  // v2: {triggerType, payload: {name, siteId, data, submittedAt, id, formId, …}};
  // v1 (legacy): {name, site, data, d, _id}.
  const json* payload = &root;
  std::string submitted_at_key = "d", id_key = "_id", site_key = "site";
  if (auto trigger = root.find("triggerType"); trigger != root.end()) {
    if (!trigger->is_string() || *trigger != "form_submission") {
      return Reject(RejectReason::kIgnored, fmt::format("triggerType {} is not a form submission",
                                                        trigger->dump().substr(0, 40)));
    }
    auto p = root.find("payload");
    if (p == root.end() || !p->is_object()) {
      return Reject(RejectReason::kMissingField, "a form_submission needs a payload object");
    }
    payload = &*p;
    submitted_at_key = "submittedAt";
    id_key = "id";
    site_key = "siteId";
  }
  auto data = payload->find("data");
  if (data == payload->end() || !data->is_object()) {
    return Reject(RejectReason::kMissingField, "the submission has no data object");
  }

  // Labels are matched case-insensitively: both the data and the map are lowercased.
  ParsedBody labels;
  labels.kind = BodyKind::kJson;
  labels.media_type = body->media_type;
  for (const auto& [label, value] : data->items()) {
    const std::string key = AsciiLowered(label);
    if (!labels.json.contains(key)) labels.json[key] = value;
  }
  SourceConfig mapped = source;
  mapped.map.clear();
  for (const auto& [canonical, label] : source.map)
    mapped.map.emplace_back(canonical, AsciiLowered(label));
  mapped.map = MapWithDefaults(mapped.map, DefaultLabels());

  auto delivery = MapParsedBody(mapped, request, labels, Channel::kForm);
  if (!delivery.ok()) return delivery.status();
  Inquiry& inquiry = delivery->inquiry;

  if (const std::string id = Text(*payload, id_key.c_str()); !id.empty()) {
    auto key = DedupeKey(source, request, id);
    if (!key.ok()) return key.status();
    inquiry.provider_event_id = id;
    delivery->dedupe_key = std::move(*key);
  }
  if (inquiry.occurred_at == 0) {
    if (auto at = ParseOccurredAt(Text(*payload, submitted_at_key.c_str())); at.ok()) {
      inquiry.occurred_at = *at;
    }
  }
  const std::string page_url = Text(*payload, "pageUrl");
  if (inquiry.attribution.landing_page.empty()) {
    inquiry.attribution.landing_page =
        page_url.empty() ? Text(*payload, "publishedPath") : page_url;
  }

  json fields = {{"kind", "form_submission"}};
  const std::pair<const char*, std::string> extras[] = {
      {"form_name", Text(*payload, "name")},
      {"form_id", Text(*payload, "formId")},
      {"form_element_id", Text(*payload, "formElementId")},
      {"site_id", Text(*payload, site_key.c_str())},
      {"page_id", Text(*payload, "pageId")},
      {"page_url", page_url},
      {"published_path", Text(*payload, "publishedPath")},
  };
  for (const auto& [key, value] : extras) {
    if (!value.empty()) fields[key] = value;
  }
  inquiry.fields = std::move(fields);
  return delivery;
}

void RegisterWebflowSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "webflow",
      .trust_note = "verifies x-webflow-signature (HMAC-SHA256 of timestamp:body, 5 min "
                    "tolerance) when signature.secret is set; otherwise a token",
      .default_channel = Channel::kForm,
      .settings = {{"tolerance",
                    "how old x-webflow-timestamp may be (duration or seconds; default 5m)"}},
      .make = [] { return std::make_unique<WebflowAdapter>(); },
  });
}

}  // namespace handoff
