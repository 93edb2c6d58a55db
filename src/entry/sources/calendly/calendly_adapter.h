// The `calendly` source: Calendly webhooks v2 (`invitee.created`, `invitee.canceled`) as
// booking inquiries. Verifies `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` (HMAC-SHA256 over
// "t.body" with any configured signing key, `t` within the tolerance). A booking is one thread
// keyed by its invitee URI: a reschedule (a cancel with `rescheduled: true` and a created with
// `old_invitee`, in either order) and a cancellation update the booking's inquiry instead of
// creating new ones. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class CalendlyAdapter final : public SourceAdapter {
 public:
  // Signature and timestamp when the source has `signature.secret` (Calendly's signing keys);
  // also the generic token when `token` is set.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // JSON only. Other events are ignored (200); a payload without `uri` is missing_field.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// The signature timestamp tolerance when the source does not set `tolerance`.
inline constexpr Micros kCalendlyDefaultTolerance = 3 * kMicrosPerMinute;

// Registers the adapter under the name "calendly".
void RegisterCalendlySource(SourceAdapterRegistry& registry);

}  // namespace handoff
