// The `gravity_forms` source: entries posted by the Gravity Forms Webhooks Add-On, as JSON or
// FORM, with "All Fields" (values keyed by field id: "1.3"/"1.6" first/last name, "2" …) or
// "Select Fields" (keys the site owner chose). Fields are found by key with the source's map
// (e.g. `phone: "5"`) over defaults for the usual contact form (1.3, 1.6, 2, 3, 4) and plain
// names. Gravity Forms signs nothing: the generic token (a custom header or ?token=) or
// HMAC-SHA256 checks apply. Dedupes on the entry id. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class GravityFormsAdapter final : public SourceAdapter {
 public:
  // JSON or urlencoded; 415 for anything else.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "gravity_forms".
void RegisterGravityFormsSource(SourceAdapterRegistry& registry);

}  // namespace handoff
