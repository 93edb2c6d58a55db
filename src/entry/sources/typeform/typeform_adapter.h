// The `typeform` source: Typeform `form_response` webhooks as form inquiries. Verifies
// `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` with any configured secret.
// Answers are matched by their field `ref` as the source's `refs` setting names them (never by
// position: skipped questions are absent), with defaults by answer type. Stateless and
// thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class TypeformAdapter final : public SourceAdapter {
 public:
  // The signature when the source has `signature.secret`; also the generic token when `token`
  // is set.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // JSON only; events other than form_response are ignored. An invalid `refs` setting is
  // InvalidArgument (a config error).
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "typeform".
void RegisterTypeformSource(SourceAdapterRegistry& registry);

}  // namespace handoff
