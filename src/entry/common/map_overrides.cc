#include "entry/common/map_overrides.h"

#include <utility>

#include "entry/common/field_map.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// The inquiry's text field for a canonical name, const or not; nullptr for none.
template <typename InquiryT>
auto CanonicalFieldSlot(InquiryT& inquiry, const std::string& canonical)
    -> decltype(&inquiry.message) {
  if (canonical == "name" || canonical == "first_name" || canonical == "last_name") {
    return &inquiry.received.name;
  }
  if (canonical == "email") return &inquiry.received.email;
  if (canonical == "phone") return &inquiry.received.phone;
  if (canonical == "message") return &inquiry.message;
  if (canonical == "service") return &inquiry.service;
  if (canonical == "location") return &inquiry.location;
  auto& a = inquiry.attribution;
  if (canonical == "utm_source") return &a.utm_source;
  if (canonical == "utm_medium") return &a.utm_medium;
  if (canonical == "utm_campaign") return &a.utm_campaign;
  if (canonical == "utm_term") return &a.utm_term;
  if (canonical == "utm_content") return &a.utm_content;
  if (canonical == "referrer") return &a.referrer;
  if (canonical == "landing_page") return &a.landing_page;
  if (canonical == "event_id") return &inquiry.provider_event_id;
  return nullptr;
}

}  // namespace

Channel SourceChannel(const SourceConfig& source, Channel fallback) {
  if (source.channel.empty()) return fallback;
  return ParseChannel(source.channel).value_or(fallback);
}

std::string CanonicalFieldValue(const Inquiry& inquiry, const std::string& canonical) {
  if (canonical == "occurred_at") return inquiry.occurred_at ? "set" : "";
  const std::string* slot = CanonicalFieldSlot(inquiry, canonical);
  return slot ? *slot : std::string();
}

bool SetCanonicalField(Inquiry* inquiry, const std::string& canonical, std::string text) {
  std::string* slot = CanonicalFieldSlot(*inquiry, canonical);
  if (slot == nullptr) return false;
  *slot = std::move(text);
  return true;
}

absl::Status ApplyMapOverrides(const SourceConfig& source, const nlohmann::json& body,
                               Inquiry* inquiry) {
  if (!source.map.empty()) {
    SourceConfig only_map;
    only_map.name = source.name;
    only_map.map = source.map;
    ParsedBody parsed;
    parsed.kind = BodyKind::kJson;
    parsed.media_type = "application/json";
    parsed.json = body;
    auto mapped = MapFields(only_map, parsed);
    if (!mapped.ok()) return mapped.status();
    for (const auto& [canonical, text] : mapped->text) {
      if (canonical == "event_id" || canonical == "occurred_at") continue;
      // first_name / last_name arrive joined as "name" (MapFields does that).
      if (canonical == "first_name" || canonical == "last_name") continue;
      SetCanonicalField(inquiry, canonical, text);
    }
    if (mapped->occurred_at != 0) inquiry->occurred_at = mapped->occurred_at;
  }
  std::string missing;
  for (const auto& r : source.required) {
    if (!CanonicalFieldValue(*inquiry, r).empty()) continue;
    if (!missing.empty()) missing += "; ";
    missing += fmt::format("required field '{}' is absent", r);
  }
  if (!missing.empty()) return Reject(RejectReason::kMissingField, missing);
  return absl::OkStatus();
}

}  // namespace handoff
