#include "entry/sources/gravity_forms/gravity_forms_adapter.h"

#include <memory>

#include "core/time_format.h"
#include "entry/common/mapped_delivery.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

// "All Fields" ids of a form that starts with Name (first 1.3, last 1.6), Email (2), Phone (3)
// and a Paragraph (4), then the names "Select Fields" payloads usually choose.
const FieldMap& DefaultKeys() {
  static const auto* map = new FieldMap{
      {"name", "name"},
      {"name", "full_name"},
      {"first_name", "1.3"},
      {"first_name", "first_name"},
      {"last_name", "1.6"},
      {"last_name", "last_name"},
      {"email", "2"},
      {"email", "email"},
      {"phone", "3"},
      {"phone", "phone"},
      {"phone", "tel"},
      {"message", "4"},
      {"message", "message"},
      {"message", "comments"},
      {"service", "service"},
      {"location", "location"},
      {"utm_source", "utm_source"},
      {"utm_medium", "utm_medium"},
      {"utm_campaign", "utm_campaign"},
      {"utm_term", "utm_term"},
      {"utm_content", "utm_content"},
      {"landing_page", "source_url"},
      {"event_id", "id"},
  };
  return *map;
}

// The first value of `key` as text ("" when absent or not text), in a JSON or form body.
std::string Text(const ParsedBody& body, const char* key) {
  if (body.kind != BodyKind::kJson) {
    const std::string* v = body.FirstField(key);
    return v ? *v : std::string();
  }
  auto it = body.json.find(key);
  if (it == body.json.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return "";
}

}  // namespace

absl::StatusOr<ParsedDelivery> GravityFormsAdapter::Parse(const SourceConfig& source,
                                                          const HttpRequest& request) const {
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  BodyParseOptions options;
  options.accept_multipart = false;
  auto body = ParseBody(request.Header("content-type").value_or(""), request.body, options);
  if (!body.ok()) return body.status();

  SourceConfig mapped = source;
  mapped.map = MapWithDefaults(source.map, DefaultKeys());
  auto delivery = MapParsedBody(mapped, request, *body, Channel::kForm);
  if (!delivery.ok()) return delivery.status();
  Inquiry& inquiry = delivery->inquiry;

  // date_created is "Y-m-d H:i:s" in UTC.
  if (std::string created = Text(*body, "date_created");
      inquiry.occurred_at == 0 && created.size() == 19 && created[10] == ' ') {
    created[10] = 'T';
    if (auto at = ParseRfc3339(created + "Z"); at.ok()) inquiry.occurred_at = *at;
  }
  if (delivery->dedupe_key.empty()) {
    // "Select Fields" payloads may carry no entry id: a resend within the minute is the same.
    delivery->dedupe_key = ContentDedupeKey(request.body);
    delivery->dedupe_window = kMicrosPerMinute;
  }

  nlohmann::json fields = {{"kind", "form_entry"}};
  for (const auto& [key, name] : {std::pair{"form_id", "form_id"}, std::pair{"id", "entry_id"},
                                  std::pair{"source_url", "source_url"}}) {
    if (std::string v = Text(*body, key); !v.empty()) fields[name] = v;
  }
  inquiry.fields = std::move(fields);
  return delivery;
}

void RegisterGravityFormsSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "gravity_forms",
      .trust_note = "Gravity Forms signs nothing: checks a token (a custom header or ?token=) or "
                    "an HMAC-SHA256 signature over the raw body",
      .default_channel = Channel::kForm,
      .methods = {"POST", "PUT"},
      .settings = {},
      .make = [] { return std::make_unique<GravityFormsAdapter>(); },
  });
}

}  // namespace handoff
