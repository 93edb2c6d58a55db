// The `smtp` connector: emails the inquiry's summary (text and HTML alternatives) to the task
// owner or a fixed list, through an SMTP submission server, with Reply-To set to the lead so
// that the owner answers them by hitting Reply.
//
// Transport security follows the destination's url: smtp://host:587 must upgrade with STARTTLS
// (the dispatcher fails the attempt otherwise), smtps://host:465 is TLS from the first byte.
// Plain SMTP without TLS is refused unless the destination sets both `tls: none` and
// `insecure_plaintext: true`, for a relay on a trusted network that offers no TLS at all.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// Builds one RFC 5322 message per handoff and classifies the server's last SMTP reply code.
// The message is the same on every attempt (Message-ID, boundary) except for its Date, so a
// client can drop a duplicate a retried send may produce. Stateless and thread-safe.
class SmtpConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  // `http_status` is the last SMTP reply code: 250 confirmed (remote id = the Message-ID),
  // 4xx retryable, 535 permanent (authentication failed), other 5xx permanent.
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "smtp".
void RegisterSmtpConnector(ConnectorRegistry& registry);

}  // namespace handoff
