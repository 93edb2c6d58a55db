// Names for the parts of an inquiry that the config's rules read: route conditions
// (`when.match`), required context (`require`) and enrichment rules (`on`). One list, so the
// config loader accepts exactly what the stages can resolve.
#pragma once

#include <string>
#include <string_view>

#include "model/records.h"

namespace handoff {

// True for "message", "service", "location", "source", "channel", "contact.name",
// "contact.email", "contact.phone", "intent", "urgency", and "fields.NAME" (a key of
// Inquiry::fields; "fields.a.b" reads a nested object).
bool IsFieldPath(std::string_view path);

// The text at `path`, "" when absent or empty. Contact fields are the normalized ones, then as
// received, then the linked `contact`'s (may be null): a call from a known number still has a
// name. A number or boolean under fields reads as its JSON text ("true", "42").
std::string FieldText(const Inquiry& inquiry, std::string_view path,
                      const Contact* contact = nullptr);

}  // namespace handoff
