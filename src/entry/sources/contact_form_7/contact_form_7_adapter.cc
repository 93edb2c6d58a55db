#include "entry/sources/contact_form_7/contact_form_7_adapter.h"

#include <memory>

#include "entry/common/mapped_delivery.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

using nlohmann::json;

// CF7's default tags, then common custom ones.
const FieldMap& DefaultTags() {
  static const auto* map = new FieldMap{
      {"name", "your-name"},
      {"name", "name"},
      {"first_name", "your-first-name"},
      {"first_name", "first-name"},
      {"last_name", "your-last-name"},
      {"last_name", "last-name"},
      {"email", "your-email"},
      {"email", "email"},
      {"phone", "your-tel"},
      {"phone", "your-phone"},
      {"phone", "tel"},
      {"phone", "phone"},
      {"message", "your-message"},
      {"message", "message"},
      {"service", "your-service"},
      {"service", "service"},
      {"location", "your-location"},
      {"utm_source", "utm_source"},
      {"utm_medium", "utm_medium"},
      {"utm_campaign", "utm_campaign"},
      {"utm_term", "utm_term"},
      {"utm_content", "utm_content"},
      {"landing_page", "landing_page"},
      {"referrer", "referrer"},
  };
  return *map;
}

constexpr char kSubjectTag[] = "your-subject";

// ["a", "b"] → "a, b" for arrays of scalars (select, checkbox and radio tags); other values stay.
void JoinScalarArrays(json& object) {
  for (auto& [key, value] : object.items()) {
    if (!value.is_array()) continue;
    std::string joined;
    bool scalars = true;
    for (const json& v : value) {
      if (v.is_structured()) {
        scalars = false;
        break;
      }
      if (v.is_null()) continue;
      if (!joined.empty()) joined += ", ";
      joined += v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (scalars) value = joined;
  }
}

}  // namespace

absl::StatusOr<ParsedDelivery> ContactForm7Adapter::Parse(const SourceConfig& source,
                                                          const HttpRequest& request) const {
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  BodyParseOptions options;
  options.accept_multipart = false;
  auto body = ParseBody(request.Header("content-type").value_or(""), request.body, options);
  if (!body.ok()) return body.status();
  if (body->kind == BodyKind::kJson) JoinScalarArrays(body->json);

  SourceConfig mapped = source;
  mapped.map = MapWithDefaults(source.map, DefaultTags());
  auto delivery = MapParsedBody(mapped, request, *body, Channel::kForm);
  if (!delivery.ok()) return delivery.status();
  if (delivery->dedupe_key.empty()) {
    delivery->dedupe_key = ContentDedupeKey(request.body);
    delivery->dedupe_window = kMicrosPerMinute;
  }
  json fields = {{"kind", "form_submission"}};
  std::string subject;
  if (body->kind == BodyKind::kJson) {
    auto it = body->json.find(kSubjectTag);
    if (it != body->json.end() && it->is_string()) subject = it->get<std::string>();
  } else if (const std::string* s = body->FirstField(kSubjectTag)) {
    subject = *s;
  }
  if (!subject.empty()) fields["subject"] = subject;
  delivery->inquiry.fields = std::move(fields);
  return delivery;
}

void RegisterContactForm7Source(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "contact_form_7",
      .trust_note = "CF7 to Webhook signs nothing: checks a token (a custom header or ?token=) or "
                    "an HMAC-SHA256 signature over the raw body",
      .default_channel = Channel::kForm,
      .methods = {"POST", "PUT"},
      .settings = {},
      .make = [] { return std::make_unique<ContactForm7Adapter>(); },
  });
}

}  // namespace handoff
