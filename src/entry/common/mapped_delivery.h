// The delivery shared by adapters that take a generic body (json, form): parse by
// Content-Type, map canonical fields, derive the dedupe key. Adapters with a provider-specific
// shape use the pieces (ParseBody, MapFields, DedupeKey) directly.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "entry/common/body_parser.h"
#include "entry/common/field_map.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "model/records.h"

namespace handoff {

// The longest provider event id or idempotency key a source accepts: real ones are short, and
// longer ones would bloat the dedupe index.
inline constexpr size_t kMaxDedupeKeyBytes = 256;

// The key a redelivery of this request carries: "event:<event_id>" when the body has one,
// else "idem:<Idempotency-Key header>", else "sha256:<hex of the raw body>" when the source sets
// `dedupe: content`, else "". Rejects invalid_field for an id or key over 256 bytes or a
// repeated Idempotency-Key header.
absl::StatusOr<std::string> DedupeKey(const SourceConfig& source, const HttpRequest& request,
                                      std::string_view event_id);

// Parses the request body (only the kinds `options` accepts), maps it with the source's map,
// and builds the delivery: channel (source.channel, else `default_channel`), contact as
// received, message, service, location, attribution, occurred_at, provider_event_id, raw
// payload and content type, dedupe key. Rejects as ParseBody and MapFields do, and with
// missing_field when there is no name, email, phone or message at all. Never throws.
absl::StatusOr<ParsedDelivery> MapDelivery(const SourceConfig& source, const HttpRequest& request,
                                           Channel default_channel,
                                           const BodyParseOptions& options);

// For adapters with a provider-specific mapping: when the source has a `map`, the fields it
// finds in `body` override what the adapter mapped (only those present; the adapter's values
// stand for the rest). No-op without a map. Rejects as MapFields does (including the source's
// `required` list). Never throws.
absl::Status ApplyMapOverrides(const SourceConfig& source, const ParsedBody& body,
                               Inquiry* inquiry);
// MapDelivery after the parse, for adapters that reshape the body first (a provider's fields
// nested under a key, arrays to flatten): maps `body` with `source`'s map and builds the
// delivery the same way. The raw payload is still the request's body, verbatim.
absl::StatusOr<ParsedDelivery> MapParsedBody(const SourceConfig& source, const HttpRequest& request,
                                             const ParsedBody& body, Channel default_channel);

// A source's map completed by an adapter's defaults: a canonical field the configured map
// names keeps only its configured paths (an override); every other field of `defaults` is
// appended with its default paths, in order.
FieldMap MapWithDefaults(const FieldMap& configured, const FieldMap& defaults);

// "sha256:<hex of body>": the dedupe key of a source whose deliveries carry no id.
std::string ContentDedupeKey(std::string_view body);

}  // namespace handoff
