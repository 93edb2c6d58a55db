// The `intercom` source: Intercom webhook notifications. `conversation.user.created` (a visitor
// started a conversation) becomes an inquiry, with the HTML of the first message stripped to
// text; `contact.lead.created` too when the source sets `contact_leads: true`; the setup `ping`
// is answered 200 and stores nothing; every other topic is ignored. The phone is not in
// Intercom's payload. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class IntercomAdapter final : public SourceAdapter {
 public:
  // With signature secrets: X-Hub-Signature "sha1=<hex HMAC-SHA1(client_secret, raw body)>"
  // under any secret (rotation). Configured tokens are checked as well (the generic check).
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;

  // JSON only.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "intercom".
void RegisterIntercomSource(SourceAdapterRegistry& registry);

}  // namespace handoff
