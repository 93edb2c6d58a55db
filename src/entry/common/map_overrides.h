// The source's `map` and `required` for adapters that know their provider's shape (Calendly,
// Cal.com, Typeform…): the adapter maps the payload itself, then a configured map entry
// (canonical field → dotted JSON path) replaces what the adapter found for that field, and the
// required fields are checked on the result.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "config/config.h"
#include "model/records.h"
#include "nlohmann/json.hpp"

namespace handoff {

// The channel of `source`'s inquiries: its configured `channel`, else `fallback` (the
// adapter's default; the config loader refuses unknown channel names).
Channel SourceChannel(const SourceConfig& source, Channel fallback);

// The inquiry's value for a canonical field name ("" when empty or not a text field;
// first_name/last_name read the whole name).
std::string CanonicalFieldValue(const Inquiry& inquiry, const std::string& canonical);

// Sets the inquiry's text field for a canonical name (first_name and last_name set the whole
// name); false, changing nothing, for occurred_at and names that are not canonical.
bool SetCanonicalField(Inquiry* inquiry, const std::string& canonical, std::string text);

// Applies `source.map` to `body` (nothing when the map is empty): each mapped field found and
// not blank replaces the inquiry's (occurred_at parsed as in field_map.h; event_id is never
// overridden, the provider's id stays the dedupe key). Then rejects with missing_field naming
// each `source.required` field the inquiry lacks. Rejects invalid_field as MapFields does; an
// invalid map is InvalidArgument (a config error). Never throws.
absl::Status ApplyMapOverrides(const SourceConfig& source, const nlohmann::json& body,
                               Inquiry* inquiry);

}  // namespace handoff
