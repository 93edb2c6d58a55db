// The `meta_leads` source: Meta (Facebook/Instagram) Lead Ads. GET answers the webhook
// subscription handshake; POST carries `leadgen` changes, which name a lead but hold no
// personal data: each becomes an inquiry with status "awaiting_context", and FetchContext then
// reads the lead's answers from the Graph API. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class MetaLeadsAdapter final : public SourceAdapter {
 public:
  // GET: hub.mode=subscribe and hub.verify_token equal to the `verify_token` setting (compared
  // in constant time); bad_credentials otherwise, or when no verify_token is configured.
  // POST, with signature secrets (the app secret; several during rotation):
  // X-Hub-Signature-256 "sha256=<hex HMAC-SHA256(app_secret, raw body)>". Configured tokens
  // are checked as well.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;

  // GET: a 200 text/plain reply with hub.challenge, store=false. POST: one delivery per
  // leadgen change (the first, and the rest in `batch`); kIgnored when there is none.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;

  // GET {graph_base}/{graph_version}/{leadgen_id}?fields=...&access_token=<access_token> and
  // merges field_data: full_name (or first_name + last_name), email, phone_number, zip_code
  // (fields.postcode), city, other standard keys into fields, custom questions into fields and
  // the message. Refuses loopback and private addresses unless `allow_private` is true.
  // Unavailable on 5xx, 429, Graph rate limits (80005, 4, 17, 32, 613) and connection
  // failures; DeadlineExceeded on timeouts; PermissionDenied (bad token, missing permission,
  // refused address), NotFound, FailedPrecondition (no token configured) otherwise. Error
  // messages never contain the access token.
  absl::Status FetchContext(const SourceConfig& source, Inquiry& inquiry) const override;
};

// Registers the adapter under the name "meta_leads".
void RegisterMetaLeadsSource(SourceAdapterRegistry& registry);

}  // namespace handoff
