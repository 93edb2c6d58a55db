// The `webhook` connector: POSTs the inquiry as JSON to the destination's URL, signed per
// Standard Webhooks v1 (webhook-id / webhook-timestamp / webhook-signature).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// Computes one Standard Webhooks signature, "v1,<base64 HMAC-SHA256>", over
// "{msg_id}.{timestamp}.{body}". A secret "whsec_<base64>" is keyed by its decoded bytes; any
// other secret by its raw bytes. InvalidArgument when a whsec_ secret is not valid base64.
absl::StatusOr<std::string> SignStandardWebhook(const std::string& secret,
                                                const std::string& msg_id, int64_t timestamp,
                                                const std::string& body);

// Builds signed JSON deliveries and classifies the answers. Stateless and thread-safe.
class WebhookConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
};

// Registers "webhook".
void RegisterWebhookConnector(ConnectorRegistry& registry);

}  // namespace handoff
