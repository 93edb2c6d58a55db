#include "entry/common/mapped_delivery.h"

#include <algorithm>

#include "entry/common/field_map.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

bool DedupesOnContent(const SourceConfig& source) {
  if (!source.settings.is_object()) return false;
  auto it = source.settings.find("dedupe");
  return it != source.settings.end() && it->is_string() && it->get<std::string>() == "content";
}

}  // namespace

absl::StatusOr<std::string> DedupeKey(const SourceConfig& source, const HttpRequest& request,
                                      std::string_view event_id) {
  if (!event_id.empty()) {
    if (event_id.size() > kMaxDedupeKeyBytes) {
      return Reject(RejectReason::kInvalidField,
                    fmt::format("event_id is longer than {} bytes", kMaxDedupeKeyBytes));
    }
    return fmt::format("event:{}", event_id);
  }
  const int keys = request.HeaderCount("idempotency-key");
  if (keys > 1) return Reject(RejectReason::kInvalidField, "several Idempotency-Key headers");
  if (keys == 1) {
    const std::string_view key = *request.Header("idempotency-key");
    if (key.size() > kMaxDedupeKeyBytes) {
      return Reject(RejectReason::kInvalidField,
                    fmt::format("Idempotency-Key is longer than {} bytes", kMaxDedupeKeyBytes));
    }
    if (!key.empty()) return fmt::format("idem:{}", key);
  }
  if (DedupesOnContent(source)) return ContentDedupeKey(request.body);
  return std::string();
}

std::string ContentDedupeKey(std::string_view body) {
  return fmt::format("sha256:{}", Sha256Hex(body));
}

FieldMap MapWithDefaults(const FieldMap& configured, const FieldMap& defaults) {
  FieldMap out = configured;
  for (const auto& entry : defaults) {
    const bool overridden = std::any_of(configured.begin(), configured.end(),
                                        [&](const auto& c) { return c.first == entry.first; });
    if (!overridden) out.push_back(entry);
  }
  return out;
}

absl::StatusOr<ParsedDelivery> MapDelivery(const SourceConfig& source, const HttpRequest& request,
                                           Channel default_channel,
                                           const BodyParseOptions& options) {
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  const std::string_view content_type = request.Header("content-type").value_or("");
  auto body = ParseBody(content_type, request.body, options);
  if (!body.ok()) return body.status();
  return MapParsedBody(source, request, *body, default_channel);
}

absl::StatusOr<ParsedDelivery> MapParsedBody(const SourceConfig& source, const HttpRequest& request,
                                             const ParsedBody& body, Channel default_channel) {
  Channel channel = default_channel;
  if (!source.channel.empty()) {
    auto parsed = ParseChannel(source.channel);
    // The config loader refuses unknown channels, so reaching this is a wiring bug.
    if (!parsed) {
      return absl::FailedPreconditionError(
          fmt::format("source '{}' has unknown channel '{}'", source.name, source.channel));
    }
    channel = *parsed;
  }
  auto fields = MapFields(source, body);
  if (!fields.ok()) return fields.status();

  ParsedDelivery out;
  Inquiry& inquiry = out.inquiry;
  inquiry.channel = channel;
  ApplyMappedFields(*fields, &inquiry);
  if (inquiry.received.name.empty() && inquiry.received.email.empty() &&
      inquiry.received.phone.empty() && inquiry.message.empty()) {
    return Reject(RejectReason::kMissingField,
                  "no name, email, phone or message: nothing to act on (check the source's map)");
  }
  inquiry.raw_payload = request.body;
  inquiry.raw_content_type = std::string(request.Header("content-type").value_or(""));
  auto key = DedupeKey(source, request, inquiry.provider_event_id);
  if (!key.ok()) return key.status();
  out.dedupe_key = std::move(*key);
  return out;
}

absl::Status ApplyMapOverrides(const SourceConfig& source, const ParsedBody& body,
                               Inquiry* inquiry) {
  if (source.map.empty()) return absl::OkStatus();
  auto fields = MapFields(source, body);
  if (!fields.ok()) return fields.status();
  Inquiry mapped;
  ApplyMappedFields(*fields, &mapped);
  auto over = [](std::string& to, const std::string& from) {
    if (!from.empty()) to = from;
  };
  over(inquiry->received.name, mapped.received.name);
  over(inquiry->received.email, mapped.received.email);
  over(inquiry->received.phone, mapped.received.phone);
  over(inquiry->message, mapped.message);
  over(inquiry->service, mapped.service);
  over(inquiry->location, mapped.location);
  Attribution& a = inquiry->attribution;
  const Attribution& b = mapped.attribution;
  over(a.utm_source, b.utm_source);
  over(a.utm_medium, b.utm_medium);
  over(a.utm_campaign, b.utm_campaign);
  over(a.utm_term, b.utm_term);
  over(a.utm_content, b.utm_content);
  over(a.referrer, b.referrer);
  over(a.landing_page, b.landing_page);
  if (mapped.occurred_at != 0) inquiry->occurred_at = mapped.occurred_at;
  return absl::OkStatus();
}

}  // namespace handoff
