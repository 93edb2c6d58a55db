// The `contact_form_7` source: Contact Form 7 submissions posted by the "CF7 to Webhook"
// plugin, a JSON object keyed by the form's tag names (your-name, your-email, your-tel,
// your-message, your-subject by default, plus any custom tags; select and checkbox tags arrive
// as arrays and are joined with ", "). Fields are found with the source's map over those
// defaults. The plugin signs nothing: the generic token (a custom header or ?token=) or
// HMAC-SHA256 checks apply. Submissions carry no id: an identical body within a minute is a
// duplicate. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class ContactForm7Adapter final : public SourceAdapter {
 public:
  // JSON (or urlencoded); 415 for anything else, including the plugin's text/plain bodies.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "contact_form_7".
void RegisterContactForm7Source(SourceAdapterRegistry& registry);

}  // namespace handoff
