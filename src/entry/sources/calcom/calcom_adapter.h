// The `calcom` source: Cal.com webhooks (`BOOKING_CREATED`, `BOOKING_RESCHEDULED`,
// `BOOKING_CANCELLED`; other triggers are ignored) as booking inquiries. Verifies
// `X-Cal-Signature-256` (hex HMAC-SHA256 of the raw body with any configured secret). A
// booking is one thread keyed by its uid: a reschedule (a new uid naming the old one in
// `rescheduleUid`) and a cancellation update the booking's inquiry. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class CalcomAdapter final : public SourceAdapter {
 public:
  // The signature when the source has `signature.secret` ("no-secret-provided" is refused);
  // also the generic token when `token` is set.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // JSON only; a booking trigger without `payload.uid` is missing_field.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "calcom".
void RegisterCalcomSource(SourceAdapterRegistry& registry);

}  // namespace handoff
