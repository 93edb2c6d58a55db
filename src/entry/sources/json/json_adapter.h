// The `json` source: any provider or script that POSTs a JSON object. Fields are found with
// the source's map (dotted paths) or same-name defaults; authenticity comes from the generic
// token / HMAC-SHA256 checks. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class JsonAdapter final : public SourceAdapter {
 public:
  // Accepts application/json (and +json) bodies only; 415 for anything else.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "json".
void RegisterJsonSource(SourceAdapterRegistry& registry);

}  // namespace handoff
