// The `webflow` source: Webflow's `form_submission` webhook (and the legacy v1 body). Fields are
// found by their form label in payload.data, case-insensitively, with the source's map or
// Name/Email/Phone/Message-style defaults. Verifies x-webflow-signature (hex HMAC-SHA256 of
// "<x-webflow-timestamp>:<raw body>" under the app's client secret, timestamp in milliseconds
// within the tolerance) when the source has signature secrets; dashboard-made webhooks are
// unsigned and use the generic token instead. Dedupes on the submission id. Stateless and
// thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class WebflowAdapter final : public SourceAdapter {
 public:
  // The generic token check, then, when `signature.secret` is set, the Webflow signature:
  // missing, repeated, malformed or non-matching headers are bad_credentials; a timestamp
  // further from `now` than the `tolerance` setting (default 5 min) is stale_timestamp.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // JSON only. Another triggerType is ignored (200); a body without payload.data is
  // missing_field.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "webflow".
void RegisterWebflowSource(SourceAdapterRegistry& registry);

}  // namespace handoff
