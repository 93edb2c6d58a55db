// The `chatwoot` source: Chatwoot's account webhooks (`conversation_created`,
// `message_created`). Only messages a visitor wrote count (message_type "incoming", not
// private): our own replies, notes and activity messages are ignored, so they never loop back.
// A conversation is one inquiry: its deliveries share the thread "conversation:<account>:<id>",
// and later incoming messages fill the contact fields it lacks while the first message stays.
// Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class ChatwootAdapter final : public SourceAdapter {
 public:
  // With signature secrets: X-Chatwoot-Signature "sha256=<hex HMAC-SHA256(secret,
  // "<X-Chatwoot-Timestamp>.<raw body>")>" under any secret, and the timestamp within
  // `timestamp_tolerance` (default 5 min) of `now`. An unsigned request (older self-hosted
  // installs sign nothing) passes only with a configured token (query ?token= or header); a
  // signed one must carry a valid signature. Nothing configured = anything passes.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;

  // JSON only. Other events and non-incoming or private messages reject kIgnored.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "chatwoot".
void RegisterChatwootSource(SourceAdapterRegistry& registry);

}  // namespace handoff
