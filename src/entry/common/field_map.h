// Maps a parsed body onto handoff's canonical inquiry fields using a source's `map` (canonical
// field → dotted JSON path or form field name), or sensible same-name defaults when the source
// has none. Values are taken as received: normalisation belongs to the enrichment stage.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "entry/common/body_parser.h"
#include "model/records.h"

namespace handoff {

using FieldMap = std::vector<std::pair<std::string, std::string>>;

// The canonical field names a map may use, in documentation order: name, first_name,
// last_name, email, phone, message, service, location, utm_*, referrer, landing_page,
// occurred_at, event_id.
const std::vector<std::string>& CanonicalFieldNames();

// Checks a source's map and required list: every canonical name known, every path non-empty
// with no empty dotted segment. InvalidArgument naming each problem, one per line (for
// `handoff check`, which prefixes file:line).
absl::Status ValidateFieldMap(const FieldMap& map, const std::vector<std::string>& required = {});

// The canonical fields found in one body.
struct MappedFields {
  // canonical name → text as received; only fields that are present and not blank. `name`
  // is first_name + " " + last_name when the body has no name of its own.
  std::map<std::string, std::string> text;
  Micros occurred_at = 0;  // 0 when absent

  // The text of a canonical field, "" when absent.
  const std::string& Get(const std::string& canonical) const;
};

// Maps `body` with `source.map` (defaults when empty), then checks `source.required`.
// Rejects with invalid_field (an object or array where text is expected, an unreadable
// occurred_at) or missing_field (naming each absent required field and its path). An invalid
// map is a config error: InvalidArgument, not a rejection. Never throws.
absl::StatusOr<MappedFields> MapFields(const SourceConfig& source, const ParsedBody& body);

// Parses a timestamp as RFC 3339, or unix seconds or milliseconds (digits, optional fraction).
absl::StatusOr<Micros> ParseOccurredAt(std::string_view text);

// Copies mapped fields into the inquiry's source-level fields (received contact, message,
// service, location, attribution, occurred_at, provider_event_id).
void ApplyMappedFields(const MappedFields& fields, Inquiry* inquiry);

}  // namespace handoff
