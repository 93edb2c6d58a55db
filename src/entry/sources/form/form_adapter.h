// The `form` source: web forms posted as application/x-www-form-urlencoded or
// multipart/form-data (file parts are counted, never stored). Fields are found by form field
// name with the source's map or same-name defaults; authenticity comes from the generic token /
// HMAC-SHA256 checks. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class FormAdapter final : public SourceAdapter {
 public:
  // Accepts urlencoded and multipart bodies only; 415 for JSON and anything else.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "form".
void RegisterFormSource(SourceAdapterRegistry& registry);

}  // namespace handoff
